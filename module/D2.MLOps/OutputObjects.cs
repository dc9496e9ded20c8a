using System.Management.Automation;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;

namespace D2.MLOps;

/// <summary>AWS's objects as they are, plus the convenience properties the format views show.</summary>
internal static class OutputObjects
{
    public const string TrainingJobType = "D2.MLOps.TrainingJob";
    public const string EndpointType = "D2.MLOps.Endpoint";

    public static PSObject TrainingJob(DescribeTrainingJobResponse job)
    {
        var output = PSObject.AsPSObject(job);
        output.TypeNames.Insert(0, TrainingJobType);
        var metrics = TrainingOperations.FinalMetrics(job);
        var end = job.TrainingEndTime ?? DateTimeOffset.UtcNow;
        output.Properties.Add(new PSNoteProperty("InstanceType", job.ResourceConfig?.InstanceType));
        output.Properties.Add(new PSNoteProperty("Elapsed", job.TrainingStartTime is { } start ? end - start : (TimeSpan?)null));
        output.Properties.Add(new PSNoteProperty("Metrics", metrics));
        output.Properties.Add(new PSNoteProperty("LastAP", metrics.TryGetValue("bbox/AP", out var ap) ? ap : (double?)null));
        output.Properties.Add(new PSNoteProperty("ModelDataUrl", job.ModelArtifacts?.S3ModelArtifacts));
        return output;
    }

    public static PSObject Endpoint(DescribeEndpointResponse endpoint)
    {
        var output = PSObject.AsPSObject(endpoint);
        output.TypeNames.Insert(0, EndpointType);
        var variant = endpoint.ProductionVariants?.FirstOrDefault();
        output.Properties.Add(new PSNoteProperty("Image", variant?.DeployedImages?.FirstOrDefault()?.SpecifiedImage));
        output.Properties.Add(new PSNoteProperty("InstanceCount", variant?.CurrentInstanceCount));
        return output;
    }
}
