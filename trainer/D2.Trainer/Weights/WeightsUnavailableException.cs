namespace D2.Trainer.Weights;

/// <summary>MODEL.WEIGHTS names a URL that could not be fetched; the message names the offline fix.</summary>
public sealed class WeightsUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
