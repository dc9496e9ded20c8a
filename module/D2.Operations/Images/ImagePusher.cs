using System.Diagnostics;
using D2.Operations.Steps;

namespace D2.Operations.Images;

/// <summary>
/// Pushes the images of a plan: ECR repositories ensured, one <c>docker login</c> with the token from
/// GetAuthorizationToken (password on stdin, never printed, never on a command line), then every tag pushed.
/// </summary>
/// <param name="docker">The docker client to run (a path or a name on PATH).</param>
/// <param name="log">Progress lines (never the password).</param>
public sealed class ImagePusher(string docker, TextWriter log)
{
    /// <summary>Ensures the ECR repositories of the plan, logs docker in with the registry token, pushes every tag.</summary>
    public async Task<IReadOnlyList<string>> PushToEcrAsync(RegistryOperations registry, ImagePlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(plan);
        foreach (var repository in plan.Builds.Select(b => b.Component.Repository).Distinct(StringComparer.Ordinal))
        {
            var uri = await registry.EnsureRepositoryAsync(repository, cancellationToken).ConfigureAwait(false);
            log.WriteLine($"ECR repository {uri}");
        }

        var credentials = await registry.GetRegistryCredentialsAsync(cancellationToken).ConfigureAwait(false);
        var foreign = plan.Tags.Where(t => !t.StartsWith(credentials.Registry + "/", StringComparison.Ordinal)).ToList();
        if (foreign.Count > 0)
        {
            throw new InvalidOperationException(
                $"The images are tagged for another registry than the ECR login ({credentials.Registry}): {string.Join(", ", foreign.Take(3))}; build them with --registry {credentials.Registry}.");
        }

        await RunAsync(["login", "--username", credentials.UserName, "--password-stdin", credentials.ProxyEndpoint], credentials.Password, cancellationToken)
            .ConfigureAwait(false);
        log.WriteLine($"docker login {credentials.Registry} as {credentials.UserName} (token valid until {credentials.ExpiresAt:u})");
        return await PushTagsAsync(plan, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pushes every tag as it is (a registry the docker client is already allowed to push to, e.g. a local registry).</summary>
    public async Task<IReadOnlyList<string>> PushTagsAsync(ImagePlan plan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var pushed = new List<string>();
        foreach (var tag in plan.Tags)
        {
            await RunAsync(["push", tag], null, cancellationToken).ConfigureAwait(false);
            log.WriteLine($"pushed {tag}");
            pushed.Add(tag);
        }

        return pushed;
    }

    private async Task RunAsync(IReadOnlyList<string> arguments, string? standardInput, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(docker)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = StartOrExplain(info);
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput.AsMemory(), cancellationToken).ConfigureAwait(false);
        }

        process.StandardInput.Close();
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        var text = Redact((await output.ConfigureAwait(false)) + (await error.ConfigureAwait(false)), standardInput).Trim();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"docker {arguments[0]} failed (exit {process.ExitCode}): {text}");
        }
    }

    private Process StartOrExplain(ProcessStartInfo info)
    {
        try
        {
            return Process.Start(info) ?? throw new InvalidOperationException($"Could not start '{docker}'.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"The docker client '{docker}' could not be started ({e.Message}); install Docker or pass --docker PATH.", e);
        }
    }

    // A docker client that echoes its input must still not leak the token into logs.
    private static string Redact(string text, string? secret) =>
        string.IsNullOrEmpty(secret) ? text : text.Replace(secret, "***", StringComparison.Ordinal);
}
