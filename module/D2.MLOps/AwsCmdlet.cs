using System.Management.Automation;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using D2.Operations.Aws;
using D2.Operations.Steps;

namespace D2.MLOps;

/// <summary>
/// AWS Tools for PowerShell's common parameters (region, credentials, endpoint) plus -Local, and the
/// OperationsContext they make. Unset values follow the SDK's defaults: environment, then the shared config files.
/// </summary>
public abstract class AwsCmdlet : D2Cmdlet
{
    private OperationsContext? _context;

    [Parameter(HelpMessage = "The AWS region (e.g. us-east-1). Default: AWS_REGION / AWS_DEFAULT_REGION, then the profile's region.")]
    public string? Region { get; set; }

    [Parameter(HelpMessage = "The name of a profile in the shared credentials/config files (AWS Tools' -ProfileName).")]
    [Alias("StoredCredentials", "AWSProfileName")]
    public string? ProfileName { get; set; }

    [Parameter(HelpMessage = "The shared credentials file holding -ProfileName (default: ~/.aws/credentials and ~/.aws/config).")]
    [Alias("AWSProfilesLocation", "ProfilesLocation")]
    public string? ProfileLocation { get; set; }

    [Parameter(HelpMessage = "Access key ID of explicit credentials (with -SecretKey, and -SessionToken for temporary ones).")]
    [Alias("AK")]
    public string? AccessKey { get; set; }

    [Parameter(HelpMessage = "Secret access key of explicit credentials.")]
    [Alias("SK", "SecretAccessKey")]
    public string? SecretKey { get; set; }

    [Parameter(HelpMessage = "Session token of temporary credentials.")]
    [Alias("ST")]
    public string? SessionToken { get; set; }

    [Parameter(HelpMessage = "Send SageMaker, SageMaker Runtime and STS calls to this URL instead of AWS (e.g. a local SageMaker's BaseUrl).")]
    public string? EndpointUrl { get; set; }

    [Parameter(HelpMessage = "Use the local SageMaker started in this PowerShell process by Start-D2LocalSageMaker.")]
    public SwitchParameter Local { get; set; }

    /// <summary>The context these parameters describe (made once per command).</summary>
    protected internal OperationsContext Context => _context ??= CreateContext();

    private OperationsContext CreateContext()
    {
        if (Local)
        {
            var server = LocalSession.Server ?? throw new PSInvalidOperationException(
                "-Local: no local SageMaker runs in this PowerShell process; start one with Start-D2LocalSageMaker.");
            return OperationsContext.ForLocal(server.BaseUrl, region: Region ?? "us-east-1");
        }

        var region = Region;
        AWSCredentials? credentials = null;
        if (AccessKey is not null || SecretKey is not null)
        {
            if (AccessKey is null || SecretKey is null)
            {
                throw new PSArgumentException("-AccessKey and -SecretKey go together.", AccessKey is null ? nameof(AccessKey) : nameof(SecretKey));
            }

            credentials = SessionToken is null ? new BasicAWSCredentials(AccessKey, SecretKey) : new SessionAWSCredentials(AccessKey, SecretKey, SessionToken);
        }
        else if (ProfileName is not null || ProfileLocation is not null)
        {
            var name = ProfileName ?? "default";
            var chain = new CredentialProfileStoreChain(ProfileLocation);
            if (!chain.TryGetProfile(name, out var profile) || !chain.TryGetAWSCredentials(name, out credentials))
            {
                throw new PSArgumentException($"-ProfileName: no profile '{name}' with credentials in {ProfileLocation ?? "the shared credentials files"}.", nameof(ProfileName));
            }

            region ??= profile.Region?.SystemName;
        }

        var options = new AwsClientOptions { Region = region, Credentials = credentials };
        if (EndpointUrl is not null)
        {
            if (!Uri.TryCreate(EndpointUrl, UriKind.Absolute, out var url))
            {
                throw new PSArgumentException($"-EndpointUrl '{EndpointUrl}' is not an absolute URL.", nameof(EndpointUrl));
            }

            foreach (var service in new[] { "sagemaker", "sagemaker-runtime", "sts" })
            {
                options.ServiceUrls[service] = url;
            }
        }

        return new OperationsContext(options);
    }

    /// <summary>How often waits poll: the local SageMaker answers at once, AWS changes status minutes apart.</summary>
    protected internal TimeSpan PollInterval => Context.IsLocal ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(15);

    protected override void EndProcessing()
    {
        _context?.Dispose();
        base.EndProcessing();
    }
}
