namespace D2.Operations.Local;

/// <summary>ARNs of local resources. SageMaker lower-cases the resource name in ARNs, so names differing only in
/// case are the same resource.</summary>
internal sealed class Arns(string region, string accountId)
{
    public string Region { get; } = region;
    public string AccountId { get; } = accountId;

    public string TrainingJob(string name) => Arn("training-job", name);
    public string Model(string name) => Arn("model", name);
    public string EndpointConfig(string name) => Arn("endpoint-config", name);
    public string Endpoint(string name) => Arn("endpoint", name);

    private string Arn(string type, string name) => $"arn:aws:sagemaker:{Region}:{AccountId}:{type}/{name.ToLowerInvariant()}";
}
