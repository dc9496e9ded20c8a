using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using D2.Detection.Inference;
using D2.Detection.Structures;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Serving;

/// <summary>
/// POST /invocations. The body is images (see <see cref="RequestPayload"/>); the answer is the inference JSON (the original
/// project's fields; a list for <c>{"images": [...]}</c>, one line per record for jsonlines) or the PNG overlay (image/png,
/// one image only), chosen by Accept. Every failure is a JSON body <c>{"error", "status", "request_id"}</c>: 4xx for the
/// client's input, 503 for overload (D2_MAX_QUEUE, with Retry-After) and the deadline (D2_REQUEST_TIMEOUT_SECONDS), 500
/// only for the server's own faults. Decoding and resizing run on up to SAGEMAKER_MODEL_SERVER_WORKERS requests at a
/// time; the model runs one (batched) forward pass at a time behind <see cref="ModelBatcher"/>.
/// </summary>
internal sealed class Invocations(Predictor predictor, ModelBatcher batcher, ServingOptions options, ShutdownDrain drain, ILogger<Invocations> log)
{
    const string JsonLines = "application/jsonlines";
    readonly SemaphoreSlim _decoders = new(options.Workers, options.Workers);
    int _admitted;

    public async Task HandleAsync(HttpContext context)
    {
        var clock = Stopwatch.StartNew();
        var requestId = Guid.NewGuid().ToString("N")[..16];
        context.Response.Headers["X-Request-Id"] = requestId;
        var instances = 0;
        long requestBytes = 0;
        var timings = new RequestTimings();
        int status;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, drain.Expired);
        deadline.CancelAfter(TimeSpan.FromSeconds(options.RequestTimeoutSeconds));
        var isAdmitted = false;
        try
        {
            var request = context.Request;
            var contentType = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed.MediaType.Value ?? "" : "";
            if (!RequestPayload.IsSupported(contentType))
                throw new ClientInputException(StatusCodes.Status415UnsupportedMediaType,
                    $"Content-Type '{request.ContentType}' is not supported: send image bytes (image/jpeg, image/png, application/x-image, application/octet-stream), " +
                    "an (H, W, 3) uint8 array (application/x-npy), {\"image\": \"<base64>\"} or {\"images\": [...]} (application/json), or application/jsonlines.");
            var accept = Negotiate(request.Headers.Accept.ToString())
                ?? throw new ClientInputException(StatusCodes.Status406NotAcceptable, $"Accept '{request.Headers.Accept}' is not supported: use application/json, application/jsonlines or image/png.");
            var attributes = CustomAttributes.Parse(request.Headers[CustomAttributes.Header].ToString());
            var stage = Stopwatch.GetTimestamp();
            var body = await ReadBodyAsync(request, deadline.Token).ConfigureAwait(false);
            timings.Read = Stopwatch.GetElapsedTime(stage).TotalSeconds;
            requestBytes = body.Length;
            var shape = RequestPayload.ShapeOf(contentType, body.Span);
            if (shape == ResponseShape.Lines)
                accept = accept == "image/png" ? null : JsonLines;
            else if (shape == ResponseShape.List && accept == "image/png")
                accept = null;
            if (accept is null)
                throw new ClientInputException(StatusCodes.Status406NotAcceptable, "An image/png overlay is drawn for one image; ask for application/json for several.");

            // Admission: beyond D2_MAX_QUEUE requests inside the server, answer at once instead of past SageMaker's 60 s.
            if (Interlocked.Increment(ref _admitted) > options.MaxQueue)
            {
                Interlocked.Decrement(ref _admitted);
                ServingMetrics.Rejected.Inc();
                context.Response.Headers.RetryAfter = "1";
                throw new ClientInputException(StatusCodes.Status503ServiceUnavailable,
                    $"The server is busy: {options.MaxQueue} requests are already waiting or running (D2_MAX_QUEUE); retry later.");
            }
            isAdmitted = true;
            ServingMetrics.QueueDepth.Inc();

            var (payload, count) = await PredictAsync(contentType, body, accept, attributes, timings, deadline.Token).ConfigureAwait(false);
            instances = count;
            status = StatusCodes.Status200OK;
            context.Response.StatusCode = status;
            context.Response.ContentType = accept;
            context.Response.ContentLength = payload.Length;
            context.Response.Headers["Server-Timing"] = timings.ToServerTiming();
            stage = Stopwatch.GetTimestamp();
            await context.Response.Body.WriteAsync(payload, CancellationToken.None).ConfigureAwait(false);
            timings.Observe(Stopwatch.GetElapsedTime(stage).TotalSeconds);
        }
        catch (ClientInputException e)
        {
            status = await ErrorAsync(context, e.Status, e.Message, requestId).ConfigureAwait(false);
        }
        catch (InvalidImageException e)
        {
            status = await ErrorAsync(context, StatusCodes.Status400BadRequest, e.Message, requestId).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own limits (a body over MaxRequestBodySize sent without Content-Length, a broken chunked body).
            status = await ErrorAsync(context, e.StatusCode, $"The request could not be read: {e.Message}", requestId).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            status = 499; // nginx's "client closed request": nobody reads the answer
        }
        catch (OperationCanceledException) when (drain.Expired.IsCancellationRequested)
        {
            context.Response.Headers.RetryAfter = "1";
            status = await ErrorAsync(context, StatusCodes.Status503ServiceUnavailable,
                $"The server is shutting down (SIGTERM) and this request did not finish within the {drain.Seconds:0.###} s drain (D2_DRAIN_SECONDS); its work was dropped: retry.", requestId).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            ServingMetrics.DeadlineExceeded.Inc();
            context.Response.Headers.RetryAfter = "1";
            status = await ErrorAsync(context, StatusCodes.Status503ServiceUnavailable,
                $"The request did not finish within {options.RequestTimeoutSeconds:0.###} s (D2_REQUEST_TIMEOUT_SECONDS); its work was dropped.", requestId).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            log.LogError(e, "request {RequestId}: server fault", requestId);
            status = await ErrorAsync(context, StatusCodes.Status500InternalServerError, $"The server failed on this request ({e.GetType().Name}: {e.Message}).", requestId).ConfigureAwait(false);
        }
        finally
        {
            if (isAdmitted)
            {
                Interlocked.Decrement(ref _admitted);
                ServingMetrics.QueueDepth.Dec();
            }
        }
        ServingMetrics.Requests.WithLabels(status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        ServingMetrics.Latency.Observe(clock.Elapsed.TotalSeconds);
        log.LogInformation("request id={RequestId} status={Status} bytes={Bytes} ms={Milliseconds:0.0} instances={Instances}",
            requestId, status, requestBytes, clock.Elapsed.TotalMilliseconds, instances);
    }

    async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var limit = options.MaxPayloadMegabytes * 1024L * 1024L;
        if (request.ContentLength > limit)
            throw new ClientInputException(StatusCodes.Status413PayloadTooLarge, $"The request body has {request.ContentLength} bytes; the limit is {options.MaxPayloadMegabytes} MB (SAGEMAKER_MAX_PAYLOAD_IN_MB).");
        // Sized from Content-Length, so the body is read into one buffer without regrowing.
        using var body = new MemoryStream((int)Math.Clamp(request.ContentLength ?? 0, 0, limit + 1));
        await request.Body.CopyToAsync(body, cancellationToken).ConfigureAwait(false);
        if (body.Length > limit)
            throw new ClientInputException(StatusCodes.Status413PayloadTooLarge, $"The request body is over {options.MaxPayloadMegabytes} MB (SAGEMAKER_MAX_PAYLOAD_IN_MB).");
        if (body.Length == 0)
            throw new ClientInputException(StatusCodes.Status400BadRequest, "The request body is empty: send the image.");
        return body.GetBuffer().AsMemory(0, (int)body.Length);
    }

    async Task<(byte[] Payload, int Instances)> PredictAsync(string contentType, ReadOnlyMemory<byte> body, string accept, CustomAttributes attributes,
        RequestTimings timings, CancellationToken cancellationToken)
    {
        var shape = RequestPayload.ShapeOf(contentType, body.Span);
        SKBitmap? overlayImage = null;
        var tasks = new List<Task<ModelResult>>();
        // Cancelled when this request fails part way (a bad record after good ones), so the model drops what it queued.
        using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            await _decoders.WaitAsync(cancellationToken).ConfigureAwait(false);
            long decodeTicks = 0;
            try
            {
                // Each image goes to the model as soon as it is decoded and resized: its forward pass overlaps the next one's decoding.
                foreach (var decode in RequestPayload.Parse(contentType, body, predictor.Config.Get<string>("INPUT.FORMAT"), options.MaxQueue, options.BatchStrategy))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var start = Stopwatch.GetTimestamp();
                    var image = decode();
                    try
                    {
                        var input = predictor.Preprocessor.Preprocess(image);
                        // Up to the hand-over: once queued, the model thread may start at once and take the cores, and
                        // whatever this thread does meanwhile overlaps the queue and model stages.
                        decodeTicks += Stopwatch.GetTimestamp() - start;
                        tasks.Add(batcher.PredictAsync(input, abandon.Token));
                    }
                    finally
                    {
                        if (accept == "image/png")
                            overlayImage = image; // one image only: the overlay is drawn on it
                        else
                            image.Dispose();
                    }
                }
            }
            finally
            {
                _decoders.Release();
            }
            timings.Decode = (double)decodeTicks / Stopwatch.Frequency;

            var modelResults = await Task.WhenAll(tasks).WaitAsync(cancellationToken).ConfigureAwait(false);
            var last = modelResults.MaxBy(r => r.FinishedTimestamp)!;
            timings.Resume = Stopwatch.GetElapsedTime(last.FinishedTimestamp).TotalSeconds;
            (timings.Queue, timings.Model, timings.BatchSize) = (last.QueueSeconds, last.ModelSeconds, last.BatchSize);
            var stage = Stopwatch.GetTimestamp();
            var results = modelResults.Select(r => r.Instances).ToList();
            var filtered = results.Select(r => Filter(r, attributes)).ToList();
            try
            {
                var count = filtered.Sum(r => (int)r.Length);
                var payload = accept == "image/png"
                    ? Visualizer.DrawInstancesPng(overlayImage!, filtered[0], predictor.ClassNames, options.OverlayScoreThreshold)
                    : Serialize(filtered, shape);
                timings.Encode = Stopwatch.GetElapsedTime(stage).TotalSeconds;
                return (payload, count);
            }
            finally
            {
                foreach (var (f, r) in filtered.Zip(results))
                {
                    if (!ReferenceEquals(f, r))
                        f.Dispose();
                }
            }
        }
        catch
        {
            await abandon.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            // Results that arrive after the request gave up are disposed when they come.
            foreach (var task in tasks)
                _ = task.ContinueWith(t => t.Result.Instances.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            overlayImage?.Dispose();
        }
    }

    byte[] Serialize(List<Instances> results, ResponseShape shape)
    {
        var buffer = new ArrayBufferWriter<byte>();
        if (shape == ResponseShape.Lines)
        {
            foreach (var result in results)
            {
                using (var writer = new Utf8JsonWriter(buffer))
                    InstancesJson.Write(writer, result, predictor.ClassNames);
                buffer.Write("\n"u8);
            }
            return buffer.WrittenSpan.ToArray();
        }
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (shape == ResponseShape.List)
                writer.WriteStartArray();
            foreach (var result in results)
                InstancesJson.Write(writer, result, predictor.ClassNames);
            if (shape == ResponseShape.List)
                writer.WriteEndArray();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The custom attributes' view of <paramref name="instances"/> (a new Instances when anything is dropped).</summary>
    static Instances Filter(Instances instances, CustomAttributes attributes)
    {
        if (!attributes.FiltersInstances || instances.Length == 0 && attributes.Masks)
            return instances;
        using var scope = NewDisposeScope();
        var scores = instances.Get<Tensor>("scores");
        // Detectron2's results are sorted by score, highest first, so the first N are the best N.
        using var threshold = attributes.ScoreThreshold.ToScalar();
        var keep = scores.ge(threshold).nonzero().squeeze(1);
        if (attributes.MaxDetections is { } max && keep.shape[0] > max)
            keep = keep[..max];
        var kept = instances.Index(keep);
        if (!attributes.Masks)
            kept.Remove("pred_masks");
        return kept.MoveToOuterDisposeScope();
    }

    /// <summary>The first type of the Accept list that can be produced; none or */* means the default (SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT).</summary>
    private string? Negotiate(string accept)
    {
        if (string.IsNullOrWhiteSpace(accept))
            return options.DefaultAccept;
        foreach (var item in accept.Split(','))
        {
            var type = item.Split(';')[0].Trim().ToLowerInvariant();
            switch (type)
            {
                case "application/json" or "image/png":
                    return type;
                case "application/jsonlines" or "application/x-jsonlines":
                    return "application/json";
                case "*/*" or "application/*":
                    return options.DefaultAccept;
                case "image/*":
                    return "image/png";
            }
        }
        return null;
    }

    static async Task<int> ErrorAsync(HttpContext context, int status, string message, string requestId)
    {
        if (!context.Response.HasStarted)
        {
            context.Response.StatusCode = status;
            await context.Response.WriteAsJsonAsync(new { error = message, status, request_id = requestId }, CancellationToken.None).ConfigureAwait(false);
        }
        return status;
    }
}
