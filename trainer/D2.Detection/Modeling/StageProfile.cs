using System.Diagnostics;

namespace D2.Detection.Modeling;

/// <summary>
/// Opt-in wall-clock seconds per model stage (preprocess, backbone, fpn, rpn, box_head, mask_head, postprocess), for the
/// peer benchmark's breakdown. <see cref="Start"/> makes a profile current on the calling thread until it is disposed; the
/// model's stages add to it through <see cref="Measure"/>. With no profile current a measurement is an empty struct: no
/// allocation, no clock read. CPU kernels run synchronously, so wall time is the stage's time there (a CUDA stage would
/// only time its kernel launches).
/// </summary>
public sealed class StageProfile : IDisposable
{
    [ThreadStatic] static StageProfile? _current;

    readonly Dictionary<string, double> _seconds = [];
    readonly StageProfile? _previous;
    bool _disposed;

    StageProfile(StageProfile? previous) => _previous = previous;

    /// <summary>A new profile, current on this thread until disposed (the previous one, if any, is current again then).</summary>
    public static StageProfile Start() => _current = new StageProfile(_current);

    /// <summary>Seconds per stage, summed over every measurement since <see cref="Start"/>.</summary>
    public IReadOnlyDictionary<string, double> Seconds => _seconds;

    /// <summary>Times the stage until the returned value is disposed (<c>using var _ = StageProfile.Measure("rpn");</c>).</summary>
    public static Measurement Measure(string stage) => _current is { } profile ? new Measurement(profile, stage, Stopwatch.GetTimestamp()) : default;

    /// <summary>Adds seconds measured elsewhere (for example a training step's backward pass) to the current profile, if any.</summary>
    public static void Add(string stage, double elapsedSeconds) => _current?.Accumulate(stage, elapsedSeconds);

    void Accumulate(string stage, double elapsedSeconds) =>
        _seconds[stage] = _seconds.GetValueOrDefault(stage) + elapsedSeconds;

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (ReferenceEquals(_current, this))
            _current = _previous;
    }

    /// <summary>One running measurement; default (no profile) does nothing.</summary>
    public readonly struct Measurement : IDisposable
    {
        readonly StageProfile? _profile;
        readonly string _stage;
        readonly long _start;

        internal Measurement(StageProfile profile, string stage, long start) => (_profile, _stage, _start) = (profile, stage, start);

        public void Dispose() => _profile?.Accumulate(_stage, Stopwatch.GetElapsedTime(_start).TotalSeconds);
    }
}
