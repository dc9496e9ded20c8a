namespace D2.Trainer.SageMaker;

/// <summary>A training job's input is wrong (a hyperparameter, a channel, a config file): the job fails with this message.</summary>
internal sealed class JobInputException(string message, Exception? inner = null) : Exception(message, inner);
