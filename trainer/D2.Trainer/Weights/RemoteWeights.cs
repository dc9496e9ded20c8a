using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Amazon;
using Amazon.S3;
using Polly;
using Polly.Retry;

namespace D2.Trainer.Weights;

/// <summary>
/// Detectron2's PathManager for MODEL.WEIGHTS: <c>detectron2://X</c> (the model zoo, <c>https://dl.fbaipublicfiles.com/detectron2/X</c>,
/// base movable by <c>D2_MODEL_ZOO_URL</c>), <c>http(s)://</c>, <c>s3://</c> and <c>file://</c> become a local file. Remote files are
/// downloaded once into a cache laid out as iopath's (<c>&lt;cache&gt;/&lt;URL path&gt;</c>), through a <c>.partial</c> file that is
/// resumed with an HTTP Range request after a cut, size-checked against the server's length and renamed only when complete, so a
/// half file is never loaded.
/// </summary>
public sealed class RemoteWeights
{
    public const string ModelZooUrlVariable = "D2_MODEL_ZOO_URL";
    public const string CacheVariable = "D2_CACHE";
    /// <summary>iopath's (Detectron2's) cache variable, honoured after <see cref="CacheVariable"/>.</summary>
    public const string FvcoreCacheVariable = "FVCORE_CACHE";
    /// <summary>Retries after a failed or cut download (each resumes where the last stopped); 4 when unset, 0 fails at once.</summary>
    public const string RetriesVariable = "D2_DOWNLOAD_RETRIES";
    public const string ModelZooPrefix = "detectron2://";
    public const string DefaultModelZooUrl = "https://dl.fbaipublicfiles.com/detectron2/";
    const string PartialSuffix = ".partial";

    readonly string _cacheDirectory;
    readonly TextWriter _log;
    readonly HttpMessageHandler? _handler;
    readonly ResiliencePipeline _retry;

    /// <param name="cacheDirectory">null: <see cref="DefaultCacheDirectory"/></param>
    /// <param name="retryDelay">first retry delay (doubles per attempt); 1 s when null</param>
    public RemoteWeights(TextWriter log, string? cacheDirectory = null, HttpMessageHandler? handler = null, TimeSpan? retryDelay = null, int? maxRetries = null)
    {
        _log = log;
        _cacheDirectory = Path.GetFullPath(cacheDirectory ?? DefaultCacheDirectory());
        _handler = handler;
        var retries = maxRetries ?? (int.TryParse(Environment.GetEnvironmentVariable(RetriesVariable), CultureInfo.InvariantCulture, out var fromEnvironment)
            && fromEnvironment >= 0 ? fromEnvironment : 4);
        // Polly's retry needs at least one attempt; 0 means fail at once.
        _retry = retries == 0 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            // Transport failures and cut or short bodies are retried (the next attempt resumes); HTTP errors such as 404 are not.
            ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>(e => e.StatusCode is null || (int)e.StatusCode >= 500)
                .Handle<IOException>().Handle<TaskCanceledException>(),
            MaxRetryAttempts = retries,
            Delay = retryDelay ?? TimeSpan.FromSeconds(1),
            BackoffType = DelayBackoffType.Exponential,
            OnRetry = args =>
            {
                _log.WriteLine($"Download interrupted ({args.Outcome.Exception?.Message}); retry {args.AttemptNumber + 1} of {retries} in {args.RetryDelay.TotalSeconds:0.#} s.");
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    /// <summary>$D2_CACHE, else $FVCORE_CACHE, else iopath's default <c>~/.torch/iopath_cache</c>.</summary>
    public static string DefaultCacheDirectory() =>
        Environment.GetEnvironmentVariable(CacheVariable) is { Length: > 0 } d2 ? d2
        : Environment.GetEnvironmentVariable(FvcoreCacheVariable) is { Length: > 0 } fvcore ? fvcore
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".torch", "iopath_cache");

    /// <summary>Whether <paramref name="path"/> is a URL this class resolves (anything else is a local path).</summary>
    public static bool IsRemote(string? path) => path is not null && (path.StartsWith(ModelZooPrefix, StringComparison.Ordinal)
        || path.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || path.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
        || path.StartsWith("s3://", StringComparison.OrdinalIgnoreCase) || path.StartsWith("file://", StringComparison.OrdinalIgnoreCase));

    /// <summary><c>detectron2://X</c> as the URL it is fetched from (Detectron2's Detectron2Handler).</summary>
    public static string ExpandModelZoo(string path)
    {
        if (!path.StartsWith(ModelZooPrefix, StringComparison.Ordinal))
            return path;
        var baseUrl = Environment.GetEnvironmentVariable(ModelZooUrlVariable) is { Length: > 0 } moved ? moved : DefaultModelZooUrl;
        return baseUrl.TrimEnd('/') + "/" + path[ModelZooPrefix.Length..];
    }

    /// <summary>Where a URL is cached: iopath's <c>&lt;cache&gt;/&lt;dirname of the URL path&gt;/&lt;file name&gt;</c>; S3 under <c>s3/&lt;bucket&gt;</c>.</summary>
    public string CachePath(string url)
    {
        var uri = new Uri(url);
        var relative = uri.Scheme == "s3" ? "s3/" + uri.Host + uri.AbsolutePath : Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (relative.Length == 0 || relative.EndsWith('/') || relative.Split('/').Any(part => part == ".."))
            throw new WeightsUnavailableException($"MODEL.WEIGHTS '{url}' does not name a file.");
        return Path.Combine(_cacheDirectory, relative.Replace('/', Path.DirectorySeparatorChar));
    }

    /// <summary>A local file for <paramref name="path"/>: local paths unchanged, <c>file://</c> as its path, remote files from the cache (downloaded first when missing).</summary>
    /// <exception cref="WeightsUnavailableException">the download failed; the message says how to give the weights without network.</exception>
    public string Resolve(string path, CancellationToken cancellationToken = default)
    {
        if (!IsRemote(path))
            return path;
        if (path.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
            return new Uri(path).LocalPath;
        var url = ExpandModelZoo(path);
        var cached = CachePath(url);
        if (File.Exists(cached))
        {
            _log.WriteLine($"Using cached {cached} for {path}");
            return cached;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        _log.WriteLine($"Downloading {url} to {cached}");
        try
        {
            var isS3 = url.StartsWith("s3://", StringComparison.OrdinalIgnoreCase);
            _retry.ExecuteAsync(token => new ValueTask(isS3 ? DownloadS3(url, cached, token) : DownloadHttp(url, cached, token)), cancellationToken)
                .AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or Amazon.Runtime.AmazonServiceException
                                      or Amazon.Runtime.AmazonClientException
                                      && !cancellationToken.IsCancellationRequested)
        {
            var file = Path.GetFileName(cached);
            throw new WeightsUnavailableException(
                $"Could not download MODEL.WEIGHTS {path} ({url}): {e.Message}. Without network access, give the file to the job: "
                + $"on SageMaker add a 'model' channel holding {file} and set MODEL.WEIGHTS /opt/ml/input/data/model/{file}; "
                + $"locally set MODEL.WEIGHTS to the file's path, or put it at {cached}.", e);
        }
        return cached;
    }

    async Task DownloadHttp(string url, string cached, CancellationToken token)
    {
        var partial = cached + PartialSuffix;
        using var client = _handler is null ? new HttpClient() : new HttpClient(_handler, disposeHandler: false);
        client.Timeout = Timeout.InfiniteTimeSpan;
        var have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0)
            request.Headers.Range = new RangeHeaderValue(have, null);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The partial file is not a prefix of what the server has now: start over.
            File.Delete(partial);
            throw new IOException($"the server refused to resume at byte {have}; restarting the download");
        }
        response.EnsureSuccessStatusCode();
        long? total;
        FileMode mode;
        if (response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange is { From: { } from } range && from == have)
        {
            total = range.Length;
            mode = FileMode.Append;
            _log.WriteLine($"Resuming at {Megabytes(have)} MB");
        }
        else
        {
            // 200 (the server ignored the range): the body is the whole file.
            total = response.Content.Headers.ContentLength;
            have = 0;
            mode = FileMode.Create;
        }
        await using (var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false))
        await using (var file = new FileStream(partial, mode, FileAccess.Write, FileShare.None, 1 << 16))
        {
            var buffer = new byte[1 << 16];
            var clock = Stopwatch.StartNew();
            var lastReport = TimeSpan.Zero;
            int read;
            while ((read = await body.ReadAsync(buffer, token).ConfigureAwait(false)) > 0)
            {
                await file.WriteAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
                have += read;
                if (clock.Elapsed - lastReport >= TimeSpan.FromSeconds(2))
                {
                    lastReport = clock.Elapsed;
                    _log.WriteLine(Progress(have, total));
                }
            }
        }
        var size = new FileInfo(partial).Length;
        if (total is { } expected && size != expected)
            throw new IOException($"the download stopped at {size} of {expected} bytes");
        File.Move(partial, cached, overwrite: true);
        _log.WriteLine(Progress(size, total) + " done");
    }

    async Task DownloadS3(string url, string cached, CancellationToken token)
    {
        // AWSSDK.S3 with AWSSDK.Core's credential chain: in a SageMaker job the execution role's credentials come from
        // the container's credential endpoint or the instance metadata, which the SDK reads (and refreshes) itself.
        var (bucket, key) = ParseS3(url);
        var config = new AmazonS3Config();
        // AWS_REGION (SageMaker sets it in the container), else AWS_DEFAULT_REGION, else the SDK's chain (profile, instance metadata).
        var region = Environment.GetEnvironmentVariable("AWS_REGION") is { Length: > 0 } given ? given : Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION");
        if (!string.IsNullOrEmpty(region))
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        using var s3 = new AmazonS3Client(config);
        using var answer = await s3.GetObjectAsync(bucket, key, token).ConfigureAwait(false);
        // Written under a temporary name and renamed, so the cache never holds a half object either.
        var partial = cached + PartialSuffix;
        await answer.WriteResponseStreamToFileAsync(partial, false, token).ConfigureAwait(false);
        File.Move(partial, cached, overwrite: true);
        _log.WriteLine(Progress(new FileInfo(cached).Length, null) + " done");
    }

    /// <summary><c>s3://bucket/key</c> as its bucket and key (the key as written, not unescaped).</summary>
    static (string Bucket, string Key) ParseS3(string url)
    {
        var rest = url["s3://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == rest.Length - 1)
            throw new WeightsUnavailableException($"MODEL.WEIGHTS '{url}' does not name an S3 object (s3://bucket/key).");
        return (rest[..slash], rest[(slash + 1)..]);
    }

    static string Progress(long have, long? total) => total is { } t and > 0
        ? $"  {Megabytes(have)} of {Megabytes(t)} MB ({100.0 * have / t:0}%)"
        : $"  {Megabytes(have)} MB";

    static string Megabytes(long bytes) => (bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture);
}
