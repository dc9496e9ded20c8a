namespace D2.Operations.ServiceModels;

/// <summary>The <c>metadata</c> block of a botocore service model.</summary>
/// <param name="ApiVersion">e.g. <c>2017-07-24</c>; sent as <c>Version</c> by the query protocol.</param>
/// <param name="Protocol"><c>json</c>, <c>rest-json</c> or <c>query</c>.</param>
/// <param name="EndpointPrefix">First labels of the host (<c>api.sagemaker</c>, <c>runtime.sagemaker</c>, <c>sts</c>).</param>
/// <param name="SigningName">SigV4 service name; botocore falls back to the endpoint prefix when the model has none.</param>
/// <param name="TargetPrefix">JSON 1.1 <c>X-Amz-Target</c> prefix; null for other protocols.</param>
/// <param name="JsonVersion">JSON protocol version (<c>1.1</c>), null for query.</param>
/// <param name="ServiceId">Human-facing service id (<c>SageMaker</c>, <c>ECR</c>).</param>
/// <param name="XmlNamespace">Query protocol response namespace; null otherwise.</param>
/// <param name="GlobalEndpoint">Partition-global host (STS legacy <c>sts.amazonaws.com</c>); null otherwise.</param>
public sealed record ServiceMetadata(
    string ApiVersion,
    string Protocol,
    string EndpointPrefix,
    string SigningName,
    string? TargetPrefix,
    string? JsonVersion,
    string ServiceId,
    string? XmlNamespace,
    string? GlobalEndpoint);
