using System.Text.RegularExpressions;

namespace D2.Operations.Steps;

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

    /// <summary>The service model's VpcConfig: 1–5 security groups and 1–16 subnets, ids of letters, digits and '-' (at most 32).</summary>
    public static void Vpc(string source, Aws.SageMaker.VpcConfig? vpc)
    {
        if (vpc is null)
        {
            return;
        }

        Ids("vpcConfig.securityGroupIds", vpc.SecurityGroupIds, 5, "sg-0123456789abcdef0");
        Ids("vpcConfig.subnets", vpc.Subnets, 16, "subnet-0123456789abcdef0");

        void Ids(string field, IReadOnlyList<string>? ids, int max, string example)
        {
            if (ids is null || ids.Count < 1 || ids.Count > max)
            {
                throw Error(source, field, $"must list 1 to {max} ids such as {example} (got {ids?.Count ?? 0}).");
            }

            foreach (var (id, i) in ids.Select((id, i) => (id, i)))
            {
                if (id.Length is 0 or > 32 || !AwsId().IsMatch(id))
                {
                    throw Error(source, $"{field}[{i}]", $"must be an id such as {example} (letters, digits and '-', at most 32; got '{id}').");
                }
            }
        }
    }

    [GeneratedRegex("^[-0-9a-zA-Z]+$")]
    private static partial Regex AwsId();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex EnvironmentKey();
}
