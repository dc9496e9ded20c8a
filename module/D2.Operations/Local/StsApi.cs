using System.Security;
using Microsoft.AspNetCore.Http;

namespace D2.Operations.Local;

/// <summary>STS GetCallerIdentity over the query protocol (form POST, XML reply), for tools that probe the account
/// before calling SageMaker. The caller is always the local account's root.</summary>
internal static class StsApi
{
    private const string Namespace = "https://sts.amazonaws.com/doc/2011-06-15/";

    public static bool IsStsRequest(HttpRequest request) =>
        request.HasFormContentType && !request.Headers.ContainsKey("X-Amz-Target");

    public static async Task HandleAsync(HttpContext http, string accountId, string requestId)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        var action = form["Action"].ToString();
        http.Response.ContentType = "text/xml";
        if (action != "GetCallerIdentity")
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsync(
                $"<ErrorResponse xmlns=\"{Namespace}\"><Error><Type>Sender</Type><Code>InvalidAction</Code>" +
                $"<Message>{SecurityElement.Escape($"The local SageMaker's STS implements GetCallerIdentity only, not '{action}'.")}</Message>" +
                $"</Error><RequestId>{requestId}</RequestId></ErrorResponse>").ConfigureAwait(false);
            return;
        }
        await http.Response.WriteAsync(
            $"<GetCallerIdentityResponse xmlns=\"{Namespace}\"><GetCallerIdentityResult>" +
            $"<Arn>arn:aws:iam::{accountId}:root</Arn><UserId>{accountId}</UserId><Account>{accountId}</Account>" +
            $"</GetCallerIdentityResult><ResponseMetadata><RequestId>{requestId}</RequestId></ResponseMetadata>" +
            "</GetCallerIdentityResponse>").ConfigureAwait(false);
    }
}
