namespace D2.Operations.Matrix;

/// <summary>Which SageMaker enum an instance type must belong to: training and hosting accept different sets.</summary>
public enum InstanceTypeUse
{
    /// <summary>Either enum (TrainingInstanceType or ProductionVariantInstanceType).</summary>
    Any,

    /// <summary>TrainingInstanceType (CreateTrainingJob ResourceConfig.InstanceType).</summary>
    Training,

    /// <summary>ProductionVariantInstanceType (CreateEndpointConfig ProductionVariants[].InstanceType).</summary>
    Hosting,
}
