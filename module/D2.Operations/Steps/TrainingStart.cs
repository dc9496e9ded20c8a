using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>
/// Starting a request built beforehand by <see cref="TrainingOperations.BuildRequestAsync"/>: front ends that confirm
/// first (ShouldProcess, -WhatIf) show the job name and instances of exactly the request they then send.
/// </summary>
public static class TrainingStart
{
    public static async Task<StartedTrainingJob> StartTrainingAsync(this OperationsContext context, CreateTrainingJobRequest request,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(request);
        var created = await context.SageMaker.CreateTrainingJobAsync(request, cancellationToken).ConfigureAwait(false);
        return new StartedTrainingJob(request.TrainingJobName, created.TrainingJobArn, request);
    }
}
