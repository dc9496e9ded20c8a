using D2.Operations.Aws.Ecr;

namespace D2.Operations.Aws;

/// <summary>Amazon ECR over JSON 1.1: repositories, images and docker login tokens.</summary>
public sealed class EcrClient(AwsClientOptions options) : IDisposable
{
    private readonly AwsTransport _transport = new("ecr", options);

    public AwsTransport Transport => _transport;

    public Task<CreateRepositoryResponse> CreateRepositoryAsync(CreateRepositoryRequest request, CancellationToken cancellationToken = default) =>
        Call<CreateRepositoryRequest, CreateRepositoryResponse>("CreateRepository", request, cancellationToken);

    public Task<DescribeRepositoriesResponse> DescribeRepositoriesAsync(DescribeRepositoriesRequest request, CancellationToken cancellationToken = default) =>
        Call<DescribeRepositoriesRequest, DescribeRepositoriesResponse>("DescribeRepositories", request, cancellationToken);

    public Task<DescribeImagesResponse> DescribeImagesAsync(DescribeImagesRequest request, CancellationToken cancellationToken = default) =>
        Call<DescribeImagesRequest, DescribeImagesResponse>("DescribeImages", request, cancellationToken);

    public Task<GetAuthorizationTokenResponse> GetAuthorizationTokenAsync(GetAuthorizationTokenRequest? request = null, CancellationToken cancellationToken = default) =>
        Call<GetAuthorizationTokenRequest, GetAuthorizationTokenResponse>("GetAuthorizationToken", request ?? new(), cancellationToken);

    public void Dispose() => _transport.Dispose();

    private Task<TResponse> Call<TRequest, TResponse>(string operation, TRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return JsonProtocol.InvokeAsync<TRequest, TResponse>(_transport, operation, request, AwsJson.CamelCase, cancellationToken);
    }
}
