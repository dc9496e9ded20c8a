namespace D2.SageMaker.Contract;

/// <summary>
/// One of CreateTrainingJob's AlgorithmSpecification.MetricDefinitions: SageMaker applies <paramref name="Regex"/> to
/// every line of the container's log and records its first capture group as the metric <paramref name="Name"/>.
/// Member names are the service model's (the AWS client sends the record as it is).
/// </summary>
public sealed record MetricDefinition(string Name, string Regex);
