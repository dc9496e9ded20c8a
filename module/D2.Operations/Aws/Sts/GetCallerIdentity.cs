namespace D2.Operations.Aws.Sts;

/// <summary>Who the credentials belong to.</summary>
/// <param name="UserId">Unique id of the principal (role id:session for assumed roles).</param>
/// <param name="Account">12-digit account id (used for ECR registry hosts).</param>
/// <param name="Arn">ARN of the principal.</param>
/// <param name="RequestId">STS request id.</param>
public sealed record GetCallerIdentityResponse(string UserId, string Account, string Arn, string? RequestId);
