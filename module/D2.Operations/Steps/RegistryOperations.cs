using D2.Operations.Aws;
using D2.Operations.Aws.Ecr;
using D2.Operations.Aws.Sts;

namespace D2.Operations.Steps;

/// <summary>ECR and STS: repositories for the images, docker logins, and the account id behind the default registry.</summary>
public sealed class RegistryOperations(OperationsContext context)
{
    private string? _account;

    /// <summary>The repository's URI (<c>{registry}/{name}</c>), creating the repository when it does not exist.</summary>
    public async Task<string> EnsureRepositoryAsync(string repositoryName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(repositoryName);
        if (await FindRepositoryAsync(repositoryName, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            return existing;
        }

        try
        {
            var created = await context.Ecr.CreateRepositoryAsync(new CreateRepositoryRequest { RepositoryName = repositoryName }, cancellationToken)
                .ConfigureAwait(false);
            return created.Repository?.RepositoryUri
                ?? throw new InvalidOperationException($"ECR created repository '{repositoryName}' but returned no repositoryUri.");
        }
        catch (RepositoryAlreadyExistsException)
        {
            // Created meanwhile by a concurrent run (parallel matrix jobs push at once).
            return await FindRepositoryAsync(repositoryName, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"ECR says repository '{repositoryName}' exists but does not describe it.");
        }
    }

    /// <summary>GetAuthorizationToken decoded into a docker login (user AWS, password, registry host).</summary>
    public async Task<RegistryCredentials> GetRegistryCredentialsAsync(CancellationToken cancellationToken = default)
    {
        var answer = await context.Ecr.GetAuthorizationTokenAsync(null, cancellationToken).ConfigureAwait(false);
        var data = answer.AuthorizationData.FirstOrDefault()
            ?? throw new InvalidOperationException("ECR GetAuthorizationToken returned no authorizationData.");
        var (user, password) = data.DecodeCredentials();
        var host = data.ProxyEndpoint;
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        host = (scheme >= 0 ? host[(scheme + 3)..] : host).TrimEnd('/');
        return new RegistryCredentials(user, password, host, data.ProxyEndpoint, data.ExpiresAt);
    }

    /// <summary>Who the credentials belong to (STS GetCallerIdentity; needs no permission).</summary>
    public Task<GetCallerIdentityResponse> GetCallerIdentityAsync(CancellationToken cancellationToken = default) =>
        context.Sts.GetCallerIdentityAsync(cancellationToken);

    /// <summary>The caller's ECR registry host, <c>{account}.dkr.ecr.{region}.amazonaws.com</c> (contracts §2.3).</summary>
    public async Task<string> DefaultRegistryAsync(CancellationToken cancellationToken = default)
    {
        _account ??= (await GetCallerIdentityAsync(cancellationToken).ConfigureAwait(false)).Account;
        var region = context.Ecr.Transport.Region;
        var service = context.Options.UseFips ? "dkr.ecr-fips" : "dkr.ecr";
        return $"{_account}.{service}.{region}.{AwsEndpoints.DnsSuffix(region)}";
    }

    private async Task<string?> FindRepositoryAsync(string repositoryName, CancellationToken cancellationToken)
    {
        try
        {
            var answer = await context.Ecr.DescribeRepositoriesAsync(new DescribeRepositoriesRequest { RepositoryNames = [repositoryName] }, cancellationToken)
                .ConfigureAwait(false);
            return answer.Repositories.FirstOrDefault(r => r.RepositoryName == repositoryName)?.RepositoryUri
                ?? answer.Repositories.FirstOrDefault()?.RepositoryUri;
        }
        catch (RepositoryNotFoundException)
        {
            return null;
        }
    }
}
