using System.Text;

namespace D2.Operations.Aws.Ecr;

// GetAuthorizationToken.

public sealed record GetAuthorizationTokenRequest
{
    /// <summary>Optional (AWS marks it as no longer needed): the token works for every registry the caller may use.</summary>
    public IReadOnlyList<string>? RegistryIds { get; init; }
}

public sealed record GetAuthorizationTokenResponse
{
    public IReadOnlyList<AuthorizationData> AuthorizationData { get; init; } = [];
}

/// <summary>A docker login for one region's registries, valid 12 hours.</summary>
public sealed record AuthorizationData
{
    /// <summary>base64 of <c>AWS:{password}</c>; usable as is for <c>Authorization: Basic</c>.</summary>
    public string AuthorizationToken { get; init; } = "";

    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>https://{account}.dkr.ecr.{region}.amazonaws.com — the docker login server.</summary>
    public string ProxyEndpoint { get; init; } = "";

    /// <summary>User and password decoded from the token (split at the first ':', never a character-set strip).</summary>
    public (string User, string Password) DecodeCredentials()
    {
        var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(AuthorizationToken));
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        return colon < 0
            ? throw new FormatException("The ECR authorization token is not of the form user:password.")
            : (decoded[..colon], decoded[(colon + 1)..]);
    }
}
