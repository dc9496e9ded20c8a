using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace D2.Benchmarks;

/// <summary>
/// A short job (1 warm-up, 5 measured iterations) so that the whole suite runs in a few minutes, in process: the
/// benchmarks need the patched native Torch library next to this assembly, which a generated child project would
/// not get.
/// </summary>
public sealed class ShortJobConfig : ManualConfig
{
    public ShortJobConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(5)
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(300))
            .WithId("Short"));
        AddColumnProvider(DefaultConfig.Instance.GetColumnProviders().ToArray());
        AddLogger(DefaultConfig.Instance.GetLoggers().ToArray());
        AddExporter(DefaultConfig.Instance.GetExporters().ToArray());
        AddAnalyser(DefaultConfig.Instance.GetAnalysers().ToArray());
        AddValidator(DefaultConfig.Instance.GetValidators().ToArray());
        WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared));
    }
}
