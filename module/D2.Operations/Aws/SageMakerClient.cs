using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Aws;

/// <summary>
/// SageMaker control plane over JSON 1.1 (training jobs, models, endpoint configs, endpoints). Talks to AWS or,
/// with <c>ServiceUrls["sagemaker"]</c>, to the local SageMaker. Every request is validated against the model first.
/// </summary>
public sealed class SageMakerClient(AwsClientOptions options) : IDisposable
{
    private readonly AwsTransport _transport = new("sagemaker", options);

    /// <summary>The transport (region, endpoint, retry settings).</summary>
    public AwsTransport Transport => _transport;

    public Task<CreateTrainingJobResponse> CreateTrainingJobAsync(CreateTrainingJobRequest request, CancellationToken cancellationToken = default) =>
        Call<CreateTrainingJobRequest, CreateTrainingJobResponse>("CreateTrainingJob", request, cancellationToken);

    public Task<DescribeTrainingJobResponse> DescribeTrainingJobAsync(string trainingJobName, CancellationToken cancellationToken = default) =>
        Call<DescribeTrainingJobRequest, DescribeTrainingJobResponse>("DescribeTrainingJob", new(trainingJobName), cancellationToken);

    public Task StopTrainingJobAsync(string trainingJobName, CancellationToken cancellationToken = default) =>
        Call<StopTrainingJobRequest, Empty>("StopTrainingJob", new(trainingJobName), cancellationToken);

    /// <summary>One page; pass <see cref="ListTrainingJobsResponse.NextToken"/> back for the next.</summary>
    public Task<ListTrainingJobsResponse> ListTrainingJobsAsync(ListTrainingJobsRequest request, CancellationToken cancellationToken = default) =>
        Call<ListTrainingJobsRequest, ListTrainingJobsResponse>("ListTrainingJobs", request, cancellationToken);

    /// <summary>All pages of ListTrainingJobs.</summary>
    public async IAsyncEnumerable<TrainingJobSummary> ListAllTrainingJobsAsync(
        ListTrainingJobsRequest request,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var page = request;
        while (true)
        {
            var answer = await ListTrainingJobsAsync(page, cancellationToken).ConfigureAwait(false);
            foreach (var job in answer.TrainingJobSummaries)
            {
                yield return job;
            }

            if (string.IsNullOrEmpty(answer.NextToken))
            {
                yield break;
            }

            page = page with { NextToken = answer.NextToken };
        }
    }

    public Task<CreateModelResponse> CreateModelAsync(CreateModelRequest request, CancellationToken cancellationToken = default) =>
        Call<CreateModelRequest, CreateModelResponse>("CreateModel", request, cancellationToken);

    public Task<DescribeModelResponse> DescribeModelAsync(string modelName, CancellationToken cancellationToken = default) =>
        Call<DescribeModelRequest, DescribeModelResponse>("DescribeModel", new(modelName), cancellationToken);

    public Task DeleteModelAsync(string modelName, CancellationToken cancellationToken = default) =>
        Call<DeleteModelRequest, Empty>("DeleteModel", new(modelName), cancellationToken);

    public Task<CreateEndpointConfigResponse> CreateEndpointConfigAsync(CreateEndpointConfigRequest request, CancellationToken cancellationToken = default) =>
        Call<CreateEndpointConfigRequest, CreateEndpointConfigResponse>("CreateEndpointConfig", request, cancellationToken);

    public Task<DescribeEndpointConfigResponse> DescribeEndpointConfigAsync(string endpointConfigName, CancellationToken cancellationToken = default) =>
        Call<DescribeEndpointConfigRequest, DescribeEndpointConfigResponse>("DescribeEndpointConfig", new(endpointConfigName), cancellationToken);

    public Task DeleteEndpointConfigAsync(string endpointConfigName, CancellationToken cancellationToken = default) =>
        Call<DeleteEndpointConfigRequest, Empty>("DeleteEndpointConfig", new(endpointConfigName), cancellationToken);

    public Task<CreateEndpointResponse> CreateEndpointAsync(CreateEndpointRequest request, CancellationToken cancellationToken = default) =>
        Call<CreateEndpointRequest, CreateEndpointResponse>("CreateEndpoint", request, cancellationToken);

    public Task<UpdateEndpointResponse> UpdateEndpointAsync(UpdateEndpointRequest request, CancellationToken cancellationToken = default) =>
        Call<UpdateEndpointRequest, UpdateEndpointResponse>("UpdateEndpoint", request, cancellationToken);

    public Task<DescribeEndpointResponse> DescribeEndpointAsync(string endpointName, CancellationToken cancellationToken = default) =>
        Call<DescribeEndpointRequest, DescribeEndpointResponse>("DescribeEndpoint", new(endpointName), cancellationToken);

    public Task DeleteEndpointAsync(string endpointName, CancellationToken cancellationToken = default) =>
        Call<DeleteEndpointRequest, Empty>("DeleteEndpoint", new(endpointName), cancellationToken);

    /// <summary>One page; pass <see cref="ListEndpointsResponse.NextToken"/> back for the next.</summary>
    public Task<ListEndpointsResponse> ListEndpointsAsync(ListEndpointsRequest request, CancellationToken cancellationToken = default) =>
        Call<ListEndpointsRequest, ListEndpointsResponse>("ListEndpoints", request, cancellationToken);

    public void Dispose() => _transport.Dispose();

    private Task<TResponse> Call<TRequest, TResponse>(string operation, TRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return JsonProtocol.InvokeAsync<TRequest, TResponse>(_transport, operation, request, AwsJson.PascalCase, cancellationToken);
    }

    /// <summary>Output of operations that return an empty body.</summary>
    private sealed record Empty;
}
