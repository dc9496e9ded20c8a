using System.Text;
using D2.Operations.Matrix;

namespace D2.Operations.Images;

/// <summary>One image of the plan: which Dockerfile, for which architecture, with which tags, build arguments and labels.</summary>
public sealed record ImageBuild(
    GpuArchitecture Architecture,
    ImageComponent Component,
    IReadOnlyList<string> Tags,
    IReadOnlyList<KeyValuePair<string, string>> BuildArguments,
    IReadOnlyList<KeyValuePair<string, string>> Labels)
{
    /// <summary>The arguments of <c>docker buildx build</c> (after <c>docker</c>), run from the repository root.</summary>
    /// <remarks><c>--load</c> puts the image into the local engine so that Push (a separate target) pushes every tag.</remarks>
    public IReadOnlyList<string> BuildxArguments()
    {
        var arguments = new List<string> { "buildx", "build", "--file", Component.Dockerfile, "--platform", "linux/amd64" };
        foreach (var (name, value) in BuildArguments)
        {
            arguments.AddRange(["--build-arg", $"{name}={value}"]);
        }

        foreach (var (name, value) in Labels)
        {
            arguments.AddRange(["--label", $"{name}={value}"]);
        }

        foreach (var tag in Tags)
        {
            arguments.AddRange(["--tag", tag]);
        }

        arguments.AddRange(["--load", "."]);
        return arguments;
    }

    /// <summary>The command as a POSIX shell line (what <c>--image-plan</c> prints; paste-able).</summary>
    public string CommandLine() => "docker " + string.Join(' ', BuildxArguments().Select(ShellQuote));

    internal static string ShellQuote(string argument)
    {
        if (argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=@,+%".Contains(c)))
        {
            return argument;
        }

        var quoted = new StringBuilder("'");
        quoted.Append(argument.Replace("'", "'\\''", StringComparison.Ordinal));
        return quoted.Append('\'').ToString();
    }
}
