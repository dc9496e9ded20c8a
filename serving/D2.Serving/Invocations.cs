using D2.Detection.Inference;
using Microsoft.Net.Http.Headers;

namespace D2.Serving;

/// <summary>
/// POST /invocations: the request body is an image (JPEG, PNG, BMP, GIF, WebP; Content-Type image/*,
/// application/x-image or application/octet-stream); the answer is the inference JSON (application/json, the original
/// project's fields) or the PNG overlay (image/png), chosen by Accept. Bad input is a 4xx with a JSON reason; the model
/// runs on at most <see cref="ServingOptions.Workers"/> requests at a time, the others wait their turn.
/// </summary>
internal sealed class Invocations(Predictor predictor, ServingOptions options, ILogger<Invocations> log)
{
    private static readonly string[] ImageTypes = ["application/x-image", "application/octet-stream"];
    private readonly SemaphoreSlim _workers = new(options.Workers, options.Workers);

    public async Task<IResult> HandleAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var contentType = MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed.MediaType.Value ?? "" : "";
        if (!contentType.StartsWith("image/", StringComparison.OrdinalIgnoreCase) && !ImageTypes.Contains(contentType, StringComparer.OrdinalIgnoreCase))
            return Error(StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type '{request.ContentType}' is not supported: send the image bytes as image/jpeg, image/png, application/x-image or application/octet-stream.");
        var accept = Negotiate(request.Headers.Accept.ToString());
        if (accept is null)
            return Error(StatusCodes.Status406NotAcceptable, $"Accept '{request.Headers.Accept}' is not supported: use application/json or image/png.");

        var limit = options.MaxPayloadMegabytes * 1024L * 1024L;
        if (request.ContentLength > limit)
            return Error(StatusCodes.Status413PayloadTooLarge, $"The request body has {request.ContentLength} bytes; the limit is {options.MaxPayloadMegabytes} MB (SAGEMAKER_MAX_PAYLOAD_IN_MB).");
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken).ConfigureAwait(false);
        if (body.Length > limit)
            return Error(StatusCodes.Status413PayloadTooLarge, $"The request body is over {options.MaxPayloadMegabytes} MB (SAGEMAKER_MAX_PAYLOAD_IN_MB).");
        if (body.Length == 0)
            return Error(StatusCodes.Status400BadRequest, "The request body is empty: send the image bytes.");

        await _workers.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var image = predictor.DecodeImage(body.GetBuffer().AsSpan(0, (int)body.Length));
            using var instances = predictor.Predict(image);
            var payload = accept == "image/png"
                ? Visualizer.DrawInstancesPng(image, instances, predictor.ClassNames, options.OverlayScoreThreshold)
                : InstancesJson.ToUtf8Bytes(instances, predictor.ClassNames);
            log.LogInformation("Predicted {Count} instances on a {Width}x{Height} image", instances.Length, image.Width, image.Height);
            return Results.Bytes(payload, accept);
        }
        catch (InvalidImageException e)
        {
            return Error(StatusCodes.Status400BadRequest, $"The request body is not a readable image: {e.Message}");
        }
        finally
        {
            _workers.Release();
        }
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
                case "*/*" or "application/*":
                    return options.DefaultAccept;
                case "image/*":
                    return "image/png";
            }
        }
        return null;
    }

    internal static IResult Error(int status, string message) =>
        Results.Json(new { error = message, status }, statusCode: status);
}
