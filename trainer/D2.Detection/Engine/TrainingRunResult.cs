namespace D2.Detection.Engine;

/// <summary>How <see cref="Trainer.Train"/> ended.</summary>
public enum TrainingRunResult
{
    /// <summary>Reached SOLVER.MAX_ITER and ran the final evaluation (when there is one).</summary>
    Completed,

    /// <summary>A stop was requested before SOLVER.MAX_ITER; the state after the last finished iteration is checkpointed.</summary>
    Stopped,

    /// <summary>Reached SOLVER.MAX_ITER (model_final written), but the stop came during the final evaluation.</summary>
    EvaluationStopped,
}
