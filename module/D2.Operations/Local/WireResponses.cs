using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace D2.Operations.Local;

/// <summary>Writes replies in the shapes AWS clients parse: JSON 1.1 bodies and errors, rest-json errors.</summary>
internal static class WireResponses
{
    public const string AmzJson = "application/x-amz-json-1.1";

    public static Task WriteJsonAsync(HttpContext http, JsonObject body, int status = StatusCodes.Status200OK, string contentType = AmzJson)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = contentType;
        return http.Response.WriteAsync(body.ToJsonString(), Encoding.UTF8);
    }

    /// <summary>JSON 1.1 error: <c>{"__type": code, "message": ...}</c> plus the error shape's extra members.</summary>
    public static Task WriteErrorAsync(HttpContext http, LocalApiException error, string contentType = AmzJson)
    {
        var body = new JsonObject { ["__type"] = error.Code, ["message"] = error.Message };
        foreach (var (name, value) in error.Extra ?? [])
            body[name] = value?.DeepClone();
        // rest-json clients (SageMaker Runtime) read the code from this header first.
        http.Response.Headers["x-amzn-ErrorType"] = error.Code;
        return WriteJsonAsync(http, body, (int)error.Status, contentType);
    }
}
