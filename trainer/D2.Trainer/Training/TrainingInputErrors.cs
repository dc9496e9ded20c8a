using D2.Detection.Checkpoint;
using D2.Detection.Config;
using D2.Detection.Data;
using D2.Detection.Data.Datasets;
using D2.Detection.Data.Loader;
using D2.Detection.Inference;
using D2.Trainer.SageMaker;

namespace D2.Trainer.Training;

/// <summary>The exceptions that mean a training run's input is wrong (exit 2 / ClientError), as opposed to a fault of ours.</summary>
internal static class TrainingInputErrors
{
    public static bool IsBadInput(Exception e) =>
        e is JobInputException or ConfigException or DatasetException or ImageDecodeException or DataMappingException or CheckpointFormatException
            or ModelArtifactException or Weights.WeightsUnavailableException or FileNotFoundException or DirectoryNotFoundException or ArgumentException;
}
