using System.Text.RegularExpressions;

namespace D2.Operations.Operations;

/// <summary>Checks shared by the training and deployment profiles; each error names the profile and the field.</summary>
internal static partial class ProfileChecks
{
    public static InvalidProfileException Error(string source, string field, string message) => new(field, $"{source}: '{field}' {message}");

    public static void Required(string source, string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw Error(source, field, "is required.");
        }
    }

    public static void AtLeast(string source, string field, int? value, int minimum)
    {
        if (value < minimum)
        {
            throw Error(source, field, $"must be at least {minimum} (got {value}).");
        }
    }

    /// <summary>An s3:// URI, or file:// for the local SageMaker (https:// too where SageMaker takes a URL).</summary>
    public static void StorageUri(string source, string field, string? value, bool allowHttps = false)
    {
        if (value is null)
        {
            return;
        }

        var ok = value.StartsWith("s3://", StringComparison.Ordinal) && value.Length > "s3://".Length
            || value.StartsWith("file:///", StringComparison.OrdinalIgnoreCase)
            || allowHttps && value.StartsWith("https://", StringComparison.Ordinal);
        if (!ok)
        {
            throw Error(source, field, $"must be an s3://bucket/prefix URI{(allowHttps ? " (or https://)" : "")}, or file:///absolute/path for the local SageMaker (got '{value}').");
        }
    }

    /// <summary>Either an explicit image, or registry (optional: the caller's ECR registry) + repository + version.</summary>
    public static void Image(string source, string? image, string? repository, string? version)
    {
        if (image is not null)
        {
            if (repository is not null || version is not null)
            {
                throw Error(source, "image", "excludes 'repository' and 'version' (give an image, or a repository and version to pick the image by instance type).");
            }

            return;
        }

        if (string.IsNullOrWhiteSpace(repository) || string.IsNullOrWhiteSpace(version))
        {
            throw Error(source, string.IsNullOrWhiteSpace(repository) ? "repository" : "version",
                "is required when no 'image' is given (the image is {registry}/{repository}:{version}-{arch}, arch from the instance type).");
        }
    }

    /// <summary>Environment variable names as SageMaker accepts them.</summary>
    public static void Environment(string source, IReadOnlyDictionary<string, string> environment)
    {
        foreach (var key in environment.Keys.Where(k => !EnvironmentKey().IsMatch(k)))
        {
            throw Error(source, $"environment.{key}", "is not a valid variable name ([a-zA-Z_][a-zA-Z0-9_]*).");
        }
    }

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex EnvironmentKey();
}
