namespace D2.Detection.Config;

/// <summary>What a config is loaded for; decides which unsupported features are errors.</summary>
public enum ConfigPurpose
{
    /// <summary>Training and evaluation: every feature the config turns on must be implemented.</summary>
    Training,

    /// <summary>
    /// Prediction with Detectron2's DefaultPredictor: only features that change the predictions must be implemented;
    /// training-only settings (AMP, crops, schedules, SyncBN, TTA) are accepted as Detectron2 dumped them.
    /// </summary>
    Inference,
}
