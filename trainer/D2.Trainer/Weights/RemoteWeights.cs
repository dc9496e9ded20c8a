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
/// resumed with a Range request after a cut, size-checked against the server's length and renamed only when complete, so a
/// half file is never loaded. As iopath, processes that want the same file at once (the ranks of one host) take a lock file
/// and download it once. Used by `d2 train` (MODEL.WEIGHTS), `d2 predict --weights` and `d2 convert-model --input`.
/// </summary>
public sealed class RemoteWeights
{
    public const string ModelZooUrlVariable = "D2_MODEL_ZOO_URL";
    public const string CacheVariable = "D2_CACHE";
    /// <summary>iopath's (Detectron2's) cache variable, honoured after <see cref="CacheVariable"/>.</summary>
    public const string FvcoreCacheVariable = "FVCORE_CACHE";
    /// <summary>Retries after a failed or cut download (each resumes where the last stopped); 4 when unset, 0 fails at once.</summary>
    public const string RetriesVariable = "D2_DOWNLOAD_RETRIES";
    /// <summary>Seconds a download may wait for a connection, an answer or its next bytes before that attempt fails; 60 when unset.</summary>
    public const string TimeoutVariable = "D2_DOWNLOAD_TIMEOUT";
    public const string ModelZooPrefix = "detectron2://";
    public const string DefaultModelZooUrl = "https://dl.fbaipublicfiles.com/detectron2/";
    const string PartialSuffix = ".partial";
    const string LockSuffix = ".lock";

    readonly string _cacheDirectory;
    readonly TextWriter _log;
    readonly HttpMessageHandler? _handler;
    readonly ResiliencePipeline _retry;
    readonly TimeSpan _timeout;
    readonly string _setting;

    /// <param name="cacheDirectory">null: <see cref="DefaultCacheDirectory"/></param>
    /// <param name="retryDelay">first retry delay (doubles per attempt); 1 s when null</param>
    /// <param name="setting">what named the URL, for messages: MODEL.WEIGHTS (a training job) or a command's option</param>
    public RemoteWeights(TextWriter log, string? cacheDirectory = null, HttpMessageHandler? handler = null, TimeSpan? retryDelay = null, int? maxRetries = null,
        string setting = "MODEL.WEIGHTS")
    {
        _log = log;
        _setting = setting;
        _timeout = TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable(TimeoutVariable), CultureInfo.InvariantCulture, out var seconds)
            && seconds > 0 ? seconds : 60);
        _cacheDirectory = Path.GetFullPath(cacheDirectory ?? DefaultCacheDirectory());
        _handler = handler;
        var retries = maxRetries ?? (int.TryParse(Environment.GetEnvironmentVariable(RetriesVariable), CultureInfo.InvariantCulture, out var fromEnvironment)
            && fromEnvironment >= 0 ? fromEnvironment : 4);
        // Polly's retry needs at least one attempt; 0 means fail at once.
        _retry = retries == 0 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            // Transport failures, stalls and cut or short bodies are retried (the next attempt resumes); HTTP errors such as
            // 404 are not, nor S3's answers (the SDK already retried throttling and 5xx with its own backoff).
            ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>(e => e.StatusCode is null || (int)e.StatusCode >= 500)
                .Handle<IOException>().Handle<TaskCanceledException>().Handle<TimeoutException>()
                .Handle<Amazon.Runtime.AmazonClientException>(e => !e.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase)),
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
            throw new WeightsUnavailableException($"{_setting} '{url}' does not name a file.");
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
        var isS3 = url.StartsWith("s3://", StringComparison.OrdinalIgnoreCase);
        var s3Object = isS3 ? S3Objects.Parse(url, _setting) : default;
        var cached = CachePath(url);
        if (File.Exists(cached))
        {
            _log.WriteLine($"Using cached {cached} for {path}");
            return cached;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        try
        {
            using (AcquireLock(cached + LockSuffix, cancellationToken))
            {
                // Another process (a rank beside this one) may have fetched it while this one waited for the lock.
                if (File.Exists(cached))
                {
                    _log.WriteLine($"Using cached {cached} for {path} (downloaded by another process)");
                    return cached;
                }
                _log.WriteLine($"Downloading {url} to {cached}");
                var resume = new S3Resume();
                _retry.ExecuteAsync(token => new ValueTask(isS3 ? DownloadS3(s3Object.Bucket, s3Object.Key, cached, resume, token) : DownloadHttp(url, cached, token)),
                    cancellationToken).AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or TimeoutException
                                      or Amazon.Runtime.AmazonClientException or Amazon.Runtime.AmazonServiceException
                                  && !cancellationToken.IsCancellationRequested)
        {
            var file = Path.GetFileName(cached);
            var cause = (isS3 ? S3Objects.Describe(e, s3Object.Bucket, s3Object.Key) : null) ?? e.Message;
            var remedy = _setting == "MODEL.WEIGHTS"
                ? $"Without network access, give the file to the job: on SageMaker add a 'model' channel holding {file} and set "
                  + $"MODEL.WEIGHTS /opt/ml/input/data/model/{file}; locally set MODEL.WEIGHTS to the file's path, or put it at {cached}."
                : $"Without network access, give {_setting} the file's path, or put it at {cached}.";
            throw new WeightsUnavailableException($"Could not download {_setting} {path}{(url == path ? "" : $" ({url})")}: {cause.TrimEnd('.')}. {remedy}", e);
        }
        return cached;
    }

    /// <summary>An exclusive lock on <paramref name="path"/> (flock on Unix; released if the holder dies), waited for in 0.2 s steps.</summary>
    FileStream AcquireLock(string path, CancellationToken token)
    {
        var announced = false;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (File.Exists(path))
            {
                if (!announced)
                    _log.WriteLine($"Waiting for another process downloading to {path[..^LockSuffix.Length]}");
                announced = true;
                token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(200));
                token.ThrowIfCancellationRequested();
            }
        }
    }

    async Task DownloadHttp(string url, string cached, CancellationToken token)
    {
        var partial = cached + PartialSuffix;
        using var client = _handler is null ? new HttpClient() : new HttpClient(_handler, disposeHandler: false);
        // Bounds the wait for the answer's headers; the body's reads are bounded one by one in CopyBody.
        client.Timeout = _timeout;
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
            await CopyBody(body, partial, mode, have, total, token).ConfigureAwait(false);
        var size = new FileInfo(partial).Length;
        File.Move(partial, cached, overwrite: true);
        _log.WriteLine(Progress(size, total) + " done");
    }

    /// <summary>What a cut S3 download resumes from: the object's ETag, so a later attempt appends only to the same object.</summary>
    sealed class S3Resume
    {
        public string? ETag;
    }

    async Task DownloadS3(string bucket, string key, string cached, S3Resume resume, CancellationToken token)
    {
        var partial = cached + PartialSuffix;
        // A .partial left by another process has no known ETag, so it is not resumed.
        var have = resume.ETag is not null && File.Exists(partial) ? new FileInfo(partial).Length : 0;
        using var s3 = S3Objects.CreateClient(_timeout);
        Amazon.S3.Model.GetObjectResponse answer;
        try
        {
            answer = await S3Objects.GetAsync(s3, bucket, key, have, resume.ETag, token).ConfigureAwait(false);
        }
        catch (Amazon.S3.AmazonS3Exception e) when (have > 0 && e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            resume.ETag = null;
            File.Delete(partial);
            throw new IOException($"the object changed or shrank since the download began (S3 answered {(int)e.StatusCode}); restarting the download", e);
        }
        using (answer)
        {
            long? total;
            FileMode mode;
            if (have > 0 && answer.HttpStatusCode == HttpStatusCode.PartialContent)
            {
                total = have + answer.Headers.ContentLength;
                mode = FileMode.Append;
                _log.WriteLine($"Resuming at {Megabytes(have)} MB");
            }
            else
            {
                total = answer.Headers.ContentLength;
                have = 0;
                mode = FileMode.Create;
            }
            resume.ETag = answer.ETag;
            await CopyBody(answer.ResponseStream, partial, mode, have, total, token).ConfigureAwait(false);
        }
        var size = new FileInfo(partial).Length;
        File.Move(partial, cached, overwrite: true);
        _log.WriteLine(Progress(size, null) + " done");
    }

    /// <summary>Appends <paramref name="body"/> to <paramref name="partial"/> (or creates it), reporting progress every 2 s; a
    /// read that waits longer than the timeout, or a body shorter than <paramref name="total"/>, fails the attempt as an IOException.</summary>
    async Task CopyBody(Stream body, string partial, FileMode mode, long have, long? total, CancellationToken token)
    {
        await using (var file = new FileStream(partial, mode, FileAccess.Write, FileShare.None, 1 << 16))
        {
            var buffer = new byte[1 << 16];
            var clock = Stopwatch.StartNew();
            var lastReport = TimeSpan.Zero;
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(token);
            while (true)
            {
                stall.CancelAfter(_timeout);
                int read;
                try
                {
                    read = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    throw new IOException($"no data arrived for {_timeout.TotalSeconds:0.#} s ({TimeoutVariable}) after {Megabytes(have)} MB");
                }
                if (read == 0)
                    break;
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
    }

    static string Progress(long have, long? total) => total is { } t and > 0
        ? $"  {Megabytes(have)} of {Megabytes(t)} MB ({100.0 * have / t:0}%)"
        : $"  {Megabytes(have)} MB";

    static string Megabytes(long bytes) => (bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture);
}
