using System.Text.Json.Nodes;
using D2.Operations.ServiceModels;

namespace D2.Operations.Local;

/// <summary>What every part of the local SageMaker shares: options, ARNs, the state store and the server log.</summary>
internal sealed class LocalContext(LocalSageMakerOptions options)
{
    private readonly Lock _logGate = new();

    public LocalSageMakerOptions Options { get; } = options;
    public string Root { get; } = Path.GetFullPath(options.Root);
    public Arns Arns { get; } = new(options.Region, options.AccountId);
    public StateStore Store { get; } = new(Path.GetFullPath(options.Root));
    public ServiceModel Model { get; } = ServiceModel.Get("sagemaker");

    /// <summary>Cancelled when the server shuts down; background work (job runs, health checks) watches it.</summary>
    public CancellationTokenSource Shutdown { get; } = new();

    public void Log(string message)
    {
        if (Options.Log is null)
            return;
        lock (_logGate)
            Options.Log.WriteLine($"[local-sagemaker] {message}");
    }

    /// <summary>The members of <paramref name="request"/> that the operation's Describe output also has, copied:
    /// SageMaker echoes the create request back in Describe, under the same names.</summary>
    public JsonObject EchoedMembers(string createInputShape, string describeOutputShape, JsonObject request)
    {
        var output = Model.GetShape(describeOutputShape).Members;
        var input = Model.GetShape(createInputShape).Members;
        var echoed = new JsonObject();
        foreach (var (name, value) in request)
        {
            if (value is not null && name != "Tags" && input.ContainsKey(name) && output.ContainsKey(name))
                echoed[name] = value.DeepClone();
        }
        return echoed;
    }
}
