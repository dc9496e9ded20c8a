using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using D2.Operations.ServiceModels;
using Microsoft.AspNetCore.Http;

namespace D2.Operations.Local;

/// <summary>
/// SageMaker Runtime's InvokeEndpoint (rest-json, <c>POST /endpoints/{EndpointName}/invocations</c>): the raw body and
/// the contract's headers go to the variant's POST /invocations; its answer comes back as is, a non-2xx one as
/// ModelError (424) with the container's status and message.
/// </summary>
internal sealed class RuntimeApi(LocalContext context, VariantRouter router, HttpClient http)
{
    /// <summary>SageMaker's limit on how long a container may take to answer an invocation.</summary>
    private static readonly TimeSpan InvocationTimeout = TimeSpan.FromSeconds(60);

    private static readonly string[] ForwardedHeaders =
    [
        "X-Amzn-SageMaker-Custom-Attributes", "X-Amzn-SageMaker-Target-Model", "X-Amzn-SageMaker-Inference-Id",
        "X-Amzn-SageMaker-Enable-Explanations", "X-Amzn-SageMaker-Session-Id",
    ];

    private static readonly string[] ReturnedHeaders =
        ["X-Amzn-SageMaker-Custom-Attributes", "X-Amzn-SageMaker-New-Session-Id", "X-Amzn-SageMaker-Closed-Session-Id"];

    private readonly ServiceModel _model = ServiceModel.Get("sagemaker-runtime");

    public async Task InvokeAsync(HttpContext httpContext, string endpointName)
    {
        var request = httpContext.Request;
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, httpContext.RequestAborted).ConfigureAwait(false);
        var body = buffer.ToArray();
        Validate(endpointName, body, request);

        var (host, status) = router.PickHost(endpointName, request.Headers["X-Amzn-SageMaker-Target-Variant"].FirstOrDefault());
        if (host is null)
            throw new LocalApiException("ValidationError", $"Endpoint {endpointName} of account {context.Arns.AccountId} is in status {status}; it must be InService to be invoked.");

        using var forward = new HttpRequestMessage(HttpMethod.Post, host.BaseUri) { Content = new ByteArrayContent(body) };
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType))
            forward.Content.Headers.ContentType = contentType;
        foreach (var accept in request.Headers.Accept)
            forward.Headers.TryAddWithoutValidation("Accept", accept);
        foreach (var name in ForwardedHeaders)
        {
            if (request.Headers.TryGetValue(name, out var value))
                forward.Headers.TryAddWithoutValidation(name, value.ToString());
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted);
        timeout.CancelAfter(InvocationTimeout);
        HttpResponseMessage answer;
        try
        {
            answer = await host.InvokeAsync(http, forward, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!httpContext.RequestAborted.IsCancellationRequested)
        {
            throw ModelError("Your invocation timed out while waiting for a response from container primary. " +
                $"See {host.LogPath} for more information.", null, null);
        }
        catch (HttpRequestException e)
        {
            throw ModelError($"The serving process of production variant {host.VariantName} did not answer: {e.Message}. " +
                $"See {host.LogPath}; last lines: {host.LogTail(400)}", null, null);
        }

        using (answer)
        {
            var responseBody = await answer.Content.ReadAsByteArrayAsync(httpContext.RequestAborted).ConfigureAwait(false);
            if (!answer.IsSuccessStatusCode)
            {
                var code = (int)answer.StatusCode;
                var text = Encoding.UTF8.GetString(responseBody);
                throw ModelError($"Received {(code < 500 ? "client" : "server")} error ({code}) from primary with message \"{text}\". " +
                    $"See {host.LogPath} for more information.", code, text);
            }
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            if (answer.Content.Headers.ContentType is { } type)
                response.ContentType = type.ToString();
            response.Headers["x-Amzn-Invoked-Production-Variant"] = host.VariantName;
            foreach (var name in ReturnedHeaders)
            {
                if (answer.Headers.TryGetValues(name, out var values))
                    response.Headers[name] = string.Join(",", values);
            }
            await response.Body.WriteAsync(responseBody, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>The members of InvokeEndpointInput that travel in the path and headers, checked against the model.</summary>
    private void Validate(string endpointName, byte[] body, HttpRequest request)
    {
        var input = new JsonObject { ["EndpointName"] = endpointName, ["Body"] = JsonValue.Create(body) };
        if (request.ContentType is { } contentType)
            input["ContentType"] = contentType;
        if (request.Headers.Accept.Count > 0)
            input["Accept"] = request.Headers.Accept.ToString();
        if (request.Headers.TryGetValue("X-Amzn-SageMaker-Custom-Attributes", out var attributes))
            input["CustomAttributes"] = attributes.ToString();
        var violations = ShapeValidator.Validate(_model, "InvokeEndpoint", input);
        if (violations.Count > 0)
            throw new LocalApiException("ValidationError", ShapeValidator.FormatMessage(violations));
    }

    private LocalApiException ModelError(string message, int? originalStatus, string? originalMessage)
    {
        var extra = new JsonObject { ["Message"] = message };
        if (originalStatus is int status)
            extra["OriginalStatusCode"] = status;
        if (originalMessage is not null)
            extra["OriginalMessage"] = originalMessage;
        context.Log($"InvokeEndpoint: ModelError - {message}");
        return new LocalApiException("ModelError", message, (HttpStatusCode)424, extra);
    }
}
