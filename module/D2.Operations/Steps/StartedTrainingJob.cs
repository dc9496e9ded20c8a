using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>A training job SageMaker accepted.</summary>
/// <param name="JobName">The generated unique name.</param>
/// <param name="JobArn">Its ARN.</param>
/// <param name="Request">The CreateTrainingJob request that was sent (image, channels, stopping condition, ...).</param>
public sealed record StartedTrainingJob(string JobName, string JobArn, CreateTrainingJobRequest Request)
{
    public string? Image => Request.AlgorithmSpecification?.TrainingImage;
}
