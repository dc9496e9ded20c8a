namespace D2.SageMaker.Contract;

/// <summary>
/// The trainer image's exit codes (README, "The trainer image and SageMaker's training contract"), shared with the local
/// SageMaker so that it reports the root cause of a multi-instance failure.
/// </summary>
public static class TrainerExitCodes
{
    public const int Success = 0;

    /// <summary>AlgorithmError: a failure of the trainer.</summary>
    public const int AlgorithmError = 1;

    /// <summary>ClientError: the job's input (hyperparameters, channels, config) is wrong.</summary>
    public const int ClientError = 2;

    /// <summary>A worker (or a host whose workers all) failed only because another rank went away: a symptom, not the
    /// cause. The trainer's D2.Detection.Distributed.PeerLoss.ExitCode has the same value (a test checks it).</summary>
    public const int PeerLost = 3;
}
