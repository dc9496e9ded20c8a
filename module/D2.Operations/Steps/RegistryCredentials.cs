namespace D2.Operations.Steps;

/// <summary>A docker login for the caller's ECR registries in one region (valid about 12 hours).</summary>
/// <param name="UserName">Always <c>AWS</c>.</param>
/// <param name="Password">Pass it to <c>docker login --password-stdin</c>; never log it.</param>
/// <param name="Registry">Registry host, e.g. <c>123456789012.dkr.ecr.eu-west-1.amazonaws.com</c>.</param>
/// <param name="ProxyEndpoint">The login server as ECR gives it (https://host).</param>
/// <param name="ExpiresAt">When the password stops working.</param>
public sealed record RegistryCredentials(string UserName, string Password, string Registry, string ProxyEndpoint, DateTimeOffset? ExpiresAt)
{
    // The generated ToString would print the password into logs and PowerShell output.
    public override string ToString() => $"RegistryCredentials {{ UserName = {UserName}, Registry = {Registry}, ExpiresAt = {ExpiresAt:O} }}";
}
