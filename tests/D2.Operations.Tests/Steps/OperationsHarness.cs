using System.Collections.Concurrent;
using System.Formats.Tar;
using System.IO.Compression;
using D2.Operations.Local;
using D2.Operations.Steps;
using D2.Operations.Tests.Local;

namespace D2.Operations.Tests.Steps;

/// <summary>A local SageMaker on a temporary root (the metric trainer, the serving stub) and an OperationsContext on it.</summary>
internal sealed class OperationsHarness : IAsyncDisposable
{
    public const string RoleArn = "arn:aws:iam::000000000000:role/SageMakerRole";

    private OperationsHarness(LocalSageMakerServer server, string root)
    {
        Server = server;
        Root = root;
        Context = OperationsContext.ForLocal(server);
    }

    public LocalSageMakerServer Server { get; }

    public string Root { get; }

    public OperationsContext Context { get; }

    /// <summary>Polls fast: the tests' jobs and endpoints settle in well under a second.</summary>
    public static TimeSpan Poll => TimeSpan.FromMilliseconds(50);

    /// <param name="configure">changes to the local SageMaker's options (file-system mounts, say)</param>
    public static async Task<OperationsHarness> StartAsync(Action<LocalSageMakerOptions>? configure = null)
    {
        var root = Path.Combine(Path.GetTempPath(), $"d2-ops-{Guid.NewGuid():N}"[..20]);
        Directory.CreateDirectory(root);
        var options = new LocalSageMakerOptions
        {
            Root = root,
            TrainingCommand = MetricTrainer.Command,
            ServingCommand = ServingStub.Command,
            TrainingStopGracePeriod = TimeSpan.FromSeconds(2),
            ServingStopGracePeriod = TimeSpan.FromSeconds(5),
            ServingStartupTimeout = TimeSpan.FromSeconds(30),
        };
        configure?.Invoke(options);
        var server = await LocalSageMakerServer.StartAsync(options);
        return new OperationsHarness(server, root);
    }

    /// <summary>A training profile on this root: a training channel folder, file:// output, the trainer repository.</summary>
    public TrainingProfile Profile(string mode, string prefix = "balloon")
    {
        var data = Path.Combine(Root, "data");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "via_region_data.json"), "{}");
        return new TrainingProfile
        {
            JobNamePrefix = prefix,
            RoleArn = RoleArn,
            Repository = "d2-trainer",
            Version = "1.0.0",
            InstanceType = "ml.m5.xlarge",
            HyperParameters = new Dictionary<string, string> { ["mode"] = mode, ["config-file"] = "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml" },
            Channels = new Dictionary<string, string> { ["training"] = new Uri(data).AbsoluteUri },
            OutputPath = new Uri(Path.Combine(Root, "output")).AbsoluteUri,
            GitRevision = "0123abc",
        };
    }

    /// <summary>A model.tar.gz holding the given file names.</summary>
    public string ModelTarGz(string name, params string[] files)
    {
        var folder = Path.Combine(Root, name + "-src");
        Directory.CreateDirectory(folder);
        foreach (var file in files)
            File.WriteAllText(Path.Combine(folder, file), file);
        var path = Path.Combine(Root, name + ".tar.gz");
        using (var stream = File.Create(path))
        using (var gzip = new GZipStream(stream, CompressionLevel.Fastest))
            TarFile.CreateFromDirectory(folder, gzip, includeBaseDirectory: false);
        return new Uri(path).AbsoluteUri;
    }

    public async ValueTask DisposeAsync()
    {
        Context.Dispose();
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Records progress reports synchronously (Progress&lt;T&gt; would post them later to the thread pool).</summary>
internal sealed class ProgressLog<T> : IProgress<T>
{
    private readonly ConcurrentQueue<T> _items = new();

    public IReadOnlyList<T> Items => [.. _items];

    public void Report(T value) => _items.Enqueue(value);
}
