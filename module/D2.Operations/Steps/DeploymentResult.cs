using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>An endpoint in service with a new model and endpoint config.</summary>
/// <param name="EndpointName">The endpoint.</param>
/// <param name="ModelName">The model created for this deployment.</param>
/// <param name="EndpointConfigName">The endpoint config created for this deployment.</param>
/// <param name="Image">The serving image.</param>
/// <param name="ModelDataUrl">The model.tar.gz deployed.</param>
/// <param name="Updated">True when an existing endpoint was updated (false: created).</param>
/// <param name="PreviousEndpointConfigName">The config the update replaced.</param>
/// <param name="DeletedResources">Previous config and models removed after the update (DeletePrevious).</param>
/// <param name="Endpoint">The final DescribeEndpoint answer.</param>
public sealed record DeploymentResult(
    string EndpointName,
    string ModelName,
    string EndpointConfigName,
    string Image,
    string ModelDataUrl,
    bool Updated,
    string? PreviousEndpointConfigName,
    IReadOnlyList<string> DeletedResources,
    DescribeEndpointResponse Endpoint);
