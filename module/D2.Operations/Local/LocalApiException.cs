using System.Net;
using System.Text.Json.Nodes;

namespace D2.Operations.Local;

/// <summary>
/// An error the local SageMaker answers as AWS does: HTTP status, the error code (<c>__type</c>) and the message,
/// plus any extra members the modeled error shape has (ModelError's OriginalStatusCode, ...).
/// </summary>
internal sealed class LocalApiException(string code, string message, HttpStatusCode status = HttpStatusCode.BadRequest,
    JsonObject? extra = null) : Exception(message)
{
    public string Code { get; } = code;
    public HttpStatusCode Status { get; } = status;
    public JsonObject? Extra { get; } = extra;

    public static LocalApiException Validation(string message) => new("ValidationException", message);

    public static LocalApiException NotFound(string message = "Requested resource not found.") => new("ResourceNotFound", message);

    public static LocalApiException InUse(string message) => new("ResourceInUse", message);
}
