using Amazon.Runtime;
using D2.Operations.Aws;
using D2.Operations.Local;
using D2.Operations.Matrix;

namespace D2.Operations.Steps;

/// <summary>
/// Everything the operations need, reached the same way for AWS and for the local SageMaker: the clients (created on
/// first use), the GPU architecture matrix and a clock. Front ends make one with <see cref="ForAws"/> or
/// <see cref="ForLocal(Uri, GpuArchitectureMatrix?, string)"/> and call <see cref="Training"/>, <see cref="Endpoints"/>
/// and <see cref="Registry"/>.
/// </summary>
public sealed class OperationsContext : IDisposable
{
    private readonly Lazy<SageMakerClient> _sageMaker;
    private readonly Lazy<SageMakerRuntimeClient> _runtime;
    private readonly Lazy<EcrClient> _ecr;
    private readonly Lazy<StsClient> _sts;
    private readonly Lazy<GpuArchitectureMatrix> _matrix;

    /// <param name="options">Client settings (region, credentials, endpoint overrides).</param>
    /// <param name="matrix">The matrix; null loads the repository's build/gpu-archs.json or the embedded copy.</param>
    /// <param name="timeProvider">Clock for resource names and waits; null is the system clock.</param>
    public OperationsContext(AwsClientOptions options, GpuArchitectureMatrix? matrix = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        TimeProvider = timeProvider ?? TimeProvider.System;
        _sageMaker = new(() => new SageMakerClient(options));
        _runtime = new(() => new SageMakerRuntimeClient(options));
        _ecr = new(() => new EcrClient(options));
        _sts = new(() => new StsClient(options));
        _matrix = new(() => matrix ?? GpuArchitectureMatrix.LoadDefault());
        Training = new TrainingOperations(this);
        Endpoints = new EndpointOperations(this);
        Registry = new RegistryOperations(this);
    }

    /// <summary>AWS: the region (null: AWS_REGION, the profile, ...) and credentials (null: the default chain).</summary>
    public static OperationsContext ForAws(string? region = null, AWSCredentials? credentials = null, GpuArchitectureMatrix? matrix = null) =>
        new(new AwsClientOptions { Region = region, Credentials = credentials }, matrix);

    /// <summary>
    /// The local SageMaker at <paramref name="baseUrl"/> for SageMaker, SageMaker Runtime and STS (placeholder
    /// credentials; it accepts any signature). It has no ECR: registry calls still go to AWS.
    /// </summary>
    public static OperationsContext ForLocal(Uri baseUrl, GpuArchitectureMatrix? matrix = null, string region = "us-east-1")
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        return new(new AwsClientOptions
        {
            Region = region,
            Credentials = new BasicAWSCredentials("local", "local"),
            ServiceUrls = new Dictionary<string, Uri>(StringComparer.OrdinalIgnoreCase)
            {
                ["sagemaker"] = baseUrl,
                ["sagemaker-runtime"] = baseUrl,
                ["sts"] = baseUrl,
            },
        }, matrix);
    }

    /// <inheritdoc cref="ForLocal(Uri, GpuArchitectureMatrix?, string)"/>
    public static OperationsContext ForLocal(LocalSageMakerServer server, GpuArchitectureMatrix? matrix = null, string region = "us-east-1")
    {
        ArgumentNullException.ThrowIfNull(server);
        return ForLocal(server.BaseUrl, matrix, region);
    }

    public AwsClientOptions Options { get; }

    public TimeProvider TimeProvider { get; }

    /// <summary>True when SageMaker calls go to a loopback endpoint (the local SageMaker).</summary>
    public bool IsLocal => AwsIdentity.IsLoopback(Options.GetServiceUrl("sagemaker"));

    public GpuArchitectureMatrix Matrix => _matrix.Value;

    public SageMakerClient SageMaker => _sageMaker.Value;

    public SageMakerRuntimeClient Runtime => _runtime.Value;

    public EcrClient Ecr => _ecr.Value;

    public StsClient Sts => _sts.Value;

    public TrainingOperations Training { get; }

    public EndpointOperations Endpoints { get; }

    public RegistryOperations Registry { get; }

    /// <summary>
    /// The image for a profile: the explicit one, else <c>{registry}/{repository}:{version}-{arch}</c> with the arch the
    /// matrix assigns to the instance type and, without a registry, the caller's ECR registry.
    /// </summary>
    internal async Task<string> ResolveImageAsync(ContainerProfile profile, InstanceTypeUse use, CancellationToken cancellationToken)
    {
        if (profile.Image is not null)
        {
            return profile.Image;
        }

        GpuArchitecture architecture;
        try
        {
            architecture = Matrix.ForInstanceType(profile.InstanceType, use);
        }
        catch (ArgumentException e)
        {
            throw new InvalidProfileException("instanceType", $"{profile.Source}: {e.Message}");
        }

        var registry = profile.Registry ?? await Registry.DefaultRegistryAsync(cancellationToken).ConfigureAwait(false);
        return GpuArchitectureMatrix.ImageUri(registry, profile.Repository!, profile.Version!, architecture);
    }

    public void Dispose()
    {
        foreach (var client in new IDisposable?[]
                 {
                     _sageMaker.IsValueCreated ? _sageMaker.Value : null,
                     _runtime.IsValueCreated ? _runtime.Value : null,
                     _ecr.IsValueCreated ? _ecr.Value : null,
                     _sts.IsValueCreated ? _sts.Value : null,
                 })
        {
            client?.Dispose();
        }
    }
}
