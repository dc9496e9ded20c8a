using D2.Build.Engine;
using D2.Operations.Steps;
using D2.Operations.Pipeline;

namespace D2.Build.Pipeline;

/// <summary>The Deploy target: deploy, smoke-test, roll back on failure (all of it D2.Operations' VerifiedDeployment).</summary>
internal sealed class DeployRun(OperationsContext operations, TextWriter log)
{
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

    public async Task<VerifiedDeployment.Result> RunAsync(DeploymentProfile profile, string? smokeImagePath)
    {
        byte[]? image = null;
        if (smokeImagePath is not null)
            image = File.Exists(smokeImagePath) ? await File.ReadAllBytesAsync(smokeImagePath)
                : throw new BuildUsageException($"--smoke-image {smokeImagePath}: the file does not exist.");
        try
        {
            if (image is not null)
                SmokeCheck.ContentTypeOf(image);
        }
        catch (ArgumentException)
        {
            throw new BuildUsageException($"--smoke-image {smokeImagePath}: the file is neither a JPEG nor a PNG.");
        }
        try
        {
            var result = await new VerifiedDeployment(operations).DeployAsync(profile, image,
                new Progress(log), PollInterval);
            log.WriteLine($"Endpoint {result.Deployment.EndpointName} InService on {result.Deployment.EndpointConfigName} " +
                          $"({result.Deployment.ModelDataUrl}); smoke test passed with {result.Detections} detection(s)");
            return result;
        }
        catch (DeploymentRolledBackException e)
        {
            throw new BuildFailedException(e.Message);
        }
        catch (InvalidProfileException e)
        {
            throw new BuildUsageException(e.Message);
        }
    }

    /// <summary>Synchronous lines (Progress&lt;T&gt; would post them to the thread pool, out of order).</summary>
    private sealed class Progress(TextWriter log) : IProgress<EndpointProgress>
    {
        public void Report(EndpointProgress value)
        {
            lock (log)
                log.WriteLine($"[endpoint] {value}");
        }
    }
}
