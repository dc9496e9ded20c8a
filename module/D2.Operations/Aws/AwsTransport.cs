using System.Net;
using Amazon.Runtime;
using D2.Operations.ServiceModels;
using Polly;
using Polly.Retry;

namespace D2.Operations.Aws;

/// <summary>
/// Sends signed requests to one service with botocore's retry behaviour (Polly.Core pipeline with full-jitter
/// exponential backoff) and turns error answers into typed exceptions. One per client; thread-safe.
/// </summary>
public sealed class AwsTransport : IDisposable
{
    private static readonly ResiliencePropertyKey<CallState> CallKey = new("d2.aws.call");

    private readonly AwsClientOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly AwsRetryQuota _quota = new();
    private readonly ResiliencePipeline<AwsResponse> _pipeline;
    private readonly SemaphoreSlim _credentialsLock = new(1, 1);
    private AWSCredentials? _credentials;

    /// <param name="service">Service key: <c>sagemaker</c>, <c>sagemaker-runtime</c>, <c>ecr</c> or <c>sts</c>.</param>
    /// <param name="options">Client settings.</param>
    public AwsTransport(string service, AwsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Model = ServiceModel.Get(service);
        Service = service;

        var overrideUrl = options.GetServiceUrl(service);
        Region = AwsIdentity.ResolveRegion(options)
            ?? (overrideUrl is not null
                ? "us-east-1" // an endpoint override (local SageMaker) still needs a scope region to sign with
                : throw new InvalidOperationException(
                    "No AWS region: pass one, or set AWS_REGION / AWS_DEFAULT_REGION, or a region in the AWS profile."));
        Endpoint = overrideUrl ?? AwsEndpoints.Resolve(service, Region, options.UseFips, options.UseDualStack);

        RetryMode = options.RetryMode ?? ReadRetryMode();
        MaxAttempts = options.MaxAttempts ?? ReadMaxAttempts() ?? (RetryMode == AwsRetryMode.Legacy ? 5 : 3);
        if (MaxAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), MaxAttempts, "MaxAttempts must be at least 1.");
        }

        if (options.HttpClient is not null)
        {
            _http = options.HttpClient;
        }
        else
        {
            _http = options.HttpHandler is null ? new HttpClient() : new HttpClient(options.HttpHandler, disposeHandler: false);
            _http.Timeout = Timeout.InfiniteTimeSpan; // per-attempt timeouts are applied below so each retry gets its own
            _ownsHttp = true;
        }

        _pipeline = BuildPipeline();
    }

    public string Service { get; }

    public ServiceModel Model { get; }

    /// <summary>Client region (credential scope).</summary>
    public string Region { get; }

    /// <summary>Base URL requests go to.</summary>
    public Uri Endpoint { get; }

    public AwsRetryMode RetryMode { get; }

    public int MaxAttempts { get; }

    /// <summary>Sends <paramref name="request"/>, retrying per the retry mode; throws a typed <see cref="AwsServiceException"/> on an error answer.</summary>
    public async Task<AwsResponse> SendAsync(AwsRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        var state = new CallState(request, Guid.NewGuid().ToString());
        context.Properties.Set(CallKey, state);
        try
        {
            var response = await _pipeline.ExecuteAsync(
                static async (ctx, s) => await s.Transport.SendOnceAsync(s.Call, ctx.CancellationToken).ConfigureAwait(false),
                context,
                (Transport: this, Call: state)).ConfigureAwait(false);

            if (RetryMode == AwsRetryMode.Standard && AwsErrorParser.IsSuccess(response.StatusCode))
            {
                _quota.Release(state.LastRetryCost);
            }

            return AwsErrorParser.IsSuccess(response.StatusCode)
                ? response
                : throw AwsErrorParser.Parse(Model.Metadata.Protocol, response);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Current credentials; re-read per request so refreshing sources (SSO, web identity, IMDS) stay valid.</summary>
    public async Task<ImmutableCredentials> GetCredentialsAsync(CancellationToken cancellationToken)
    {
        if (_credentials is null)
        {
            await _credentialsLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                _credentials ??= await ResolveCredentialsOrLocalAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _credentialsLock.Release();
            }
        }

        return await _credentials.GetCredentialsAsync().ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }

        _credentialsLock.Dispose();
    }

    private async Task<AWSCredentials> ResolveCredentialsOrLocalAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await AwsIdentity.ResolveCredentialsAsync(_options, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonClientException) when (AwsIdentity.IsLoopback(Endpoint))
        {
            // The local SageMaker does not check signatures; CI without an AWS account must still work against it.
            var local = AwsIdentity.LocalCredentials;
            return new BasicAWSCredentials(local.AccessKey, local.SecretKey);
        }
    }

    private async Task<AwsResponse> SendOnceAsync(CallState call, CancellationToken cancellationToken)
    {
        call.Attempt++;
        var request = call.Request;
        using var message = new HttpRequestMessage(request.Method, new Uri(Endpoint, request.PathAndQuery))
        {
            Content = new ByteArrayContent(request.Body),
        };
        foreach (var (name, value) in request.Headers)
        {
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                message.Content.Headers.TryAddWithoutValidation(name, value);
            }
            else
            {
                message.Headers.TryAddWithoutValidation(name, value);
            }
        }

        var credentials = await GetCredentialsAsync(cancellationToken).ConfigureAwait(false);
        SigV4Signer.SignRequest(message, request.Body, credentials, Region, Model.Metadata.SigningName, _options.TimeProvider.GetUtcNow());

        // Added after signing, as botocore does: the invocation id is constant across retries, the attempt counts up.
        message.Headers.TryAddWithoutValidation("amz-sdk-invocation-id", call.InvocationId);
        message.Headers.TryAddWithoutValidation("amz-sdk-request",
            RetryMode == AwsRetryMode.Standard ? $"attempt={call.Attempt}; max={MaxAttempts}" : $"attempt={call.Attempt}");
        message.Headers.UserAgent.ParseAdd($"d2-operations/{typeof(AwsTransport).Assembly.GetName().Version?.ToString(3) ?? "0"}");

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            using var answer = await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            return await AwsResponse.ReadAsync(answer, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AwsTimeoutException($"{Service} {request.Operation} did not answer within {_options.Timeout.TotalSeconds:0.#} s.");
        }
    }

    private ResiliencePipeline<AwsResponse> BuildPipeline()
    {
        if (MaxAttempts == 1)
        {
            return ResiliencePipeline<AwsResponse>.Empty;
        }

        var options = new RetryStrategyOptions<AwsResponse>
        {
            MaxRetryAttempts = MaxAttempts - 1,
            ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context)),
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(Backoff(args.AttemptNumber + 1)),
        };
        return new ResiliencePipelineBuilder<AwsResponse>().AddRetry(options).Build();
    }

    private bool ShouldRetry(Outcome<AwsResponse> outcome, ResilienceContext context)
    {
        bool retryable;
        bool timeout;
        if (outcome.Exception is { } exception)
        {
            // Connection failures and per-attempt timeouts; a caller's cancellation is never retried.
            timeout = exception is AwsTimeoutException;
            retryable = exception is HttpRequestException or AwsTimeoutException or IOException;
        }
        else
        {
            var response = outcome.Result!;
            if (AwsErrorParser.IsSuccess(response.StatusCode))
            {
                return false;
            }

            var code = AwsErrorParser.Parse(Model.Metadata.Protocol, response).ErrorCode;
            timeout = code is "RequestTimeout" or "RequestTimeoutException" || response.StatusCode == HttpStatusCode.GatewayTimeout;
            retryable = AwsRetryClassifier.IsRetryable(RetryMode, Service, response.StatusCode, code);
        }

        if (!retryable || RetryMode == AwsRetryMode.Legacy)
        {
            return retryable;
        }

        // Standard mode spends the client-wide retry budget; when it is empty the error surfaces at once.
        if (!_quota.TryAcquire(timeout, out var cost))
        {
            return false;
        }

        if (context.Properties.TryGetValue(CallKey, out var call))
        {
            call.LastRetryCost = cost;
        }

        return true;
    }

    /// <summary>Delay before retry <paramref name="retry"/> (1-based): rand(0,1) × base × 2^(retry-1), capped at 20 × base in standard mode.</summary>
    private TimeSpan Backoff(int retry)
    {
        var factor = Math.Pow(2, retry - 1);
        if (RetryMode == AwsRetryMode.Standard)
        {
            factor = Math.Min(factor, 20);
        }

        return _options.RetryBaseDelay * (Random.Shared.NextDouble() * factor);
    }

    private static AwsRetryMode ReadRetryMode() =>
        Environment.GetEnvironmentVariable("AWS_RETRY_MODE")?.Trim().ToLowerInvariant() switch
        {
            "standard" or "adaptive" => AwsRetryMode.Standard,
            _ => AwsRetryMode.Legacy,
        };

    private static int? ReadMaxAttempts() =>
        int.TryParse(Environment.GetEnvironmentVariable("AWS_MAX_ATTEMPTS"), out var attempts) && attempts > 0 ? attempts : null;

    /// <summary>Per-call state shared by the attempts of one logical call.</summary>
    private sealed class CallState(AwsRequest request, string invocationId)
    {
        public AwsRequest Request { get; } = request;

        public string InvocationId { get; } = invocationId;

        public int Attempt { get; set; }

        public int LastRetryCost { get; set; }
    }
}
