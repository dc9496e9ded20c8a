using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace D2.Detection.Solver;

/// <summary>SOLVER.WARMUP_METHOD.</summary>
public enum WarmupMethod
{
    /// <summary>"linear": from WARMUP_FACTOR x the schedule's start up to the schedule's value where warmup ends.</summary>
    Linear,

    /// <summary>"constant": WARMUP_FACTOR x the schedule's start for the whole warmup.</summary>
    Constant,
}

/// <summary>
/// Detectron2's <c>LRMultiplier</c> over a <c>WarmupParamScheduler</c>: the lr of group g at iteration t is
/// base_lr[g] x m(t), where m is fvcore's composite of a warmup over the first min(WARMUP_ITERS / MAX_ITER, 1) of
/// training and the main schedule (<see cref="MainSchedule"/>), both evaluated at the progress t / MAX_ITER with
/// fvcore's 1e-6 tolerance. Subclasses give the main schedule.
/// </summary>
public abstract class WarmupLrScheduler : ILrScheduler
{
    /// <summary>fvcore's <c>ParamScheduler.WHERE_EPSILON</c>.</summary>
    protected const double WhereEpsilon = 1e-6;

    private readonly List<optim.ILearningRateController> _groups;
    private double[] _baseLrs;

    /// <param name="optimizer">its groups' current lrs become the base lrs (torch's initial_lr)</param>
    /// <param name="maxIter">SOLVER.MAX_ITER: progress is iteration / maxIter</param>
    /// <param name="warmupFactor">SOLVER.WARMUP_FACTOR: the warmup starts at this fraction of the schedule's start</param>
    /// <param name="warmupIters">SOLVER.WARMUP_ITERS (capped at maxIter)</param>
    /// <param name="rescaleInterval">SOLVER.RESCALE_INTERVAL: run the main schedule over the iterations after warmup only</param>
    protected WarmupLrScheduler(optim.Optimizer optimizer, long maxIter, double warmupFactor, long warmupIters, WarmupMethod warmupMethod,
        bool rescaleInterval)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxIter);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupIters);
        MaxIter = maxIter;
        WarmupFactor = warmupFactor;
        WarmupIters = warmupIters;
        WarmupMethod = warmupMethod;
        RescaleInterval = rescaleInterval;
        WarmupLength = Math.Min(warmupIters / (double)maxIter, 1.0);
        _groups = optimizer.ParamGroups.ToList();
        _baseLrs = _groups.Select(g => g.InitialLearningRate).ToArray();
        LastIteration = -1;
    }

    public long MaxIter { get; }
    public double WarmupFactor { get; }
    public long WarmupIters { get; }
    public WarmupMethod WarmupMethod { get; }
    public bool RescaleInterval { get; }

    /// <summary>The fraction of training spent warming up: min(WARMUP_ITERS / MAX_ITER, 1).</summary>
    public double WarmupLength { get; }

    public long LastIteration { get; private set; }
    public IReadOnlyList<double> BaseLrs => _baseLrs;

    /// <summary>The main schedule's multiplier at progress <paramref name="where"/> (iteration / MAX_ITER, in [0, 1]).</summary>
    protected abstract double MainSchedule(double where);

    /// <summary>Applies the lr of iteration 0, as torch's scheduler does on construction; subclasses call it last.</summary>
    protected void Initialize() => Step();

    public double Multiplier(long iteration)
    {
        var where = iteration / (double)MaxIter;
        // fvcore's CompositeParamScheduler: the warmup holds while where + eps <= its length.
        if (where + WhereEpsilon > WarmupLength)
        {
            var mainLength = 1.0 - WarmupLength;
            return RescaleInterval && mainLength > 0 ? MainSchedule((where - WarmupLength) / mainLength) : MainSchedule(where);
        }
        var start = WarmupFactor * MainSchedule(0.0);
        if (WarmupMethod == WarmupMethod.Constant)
            return start;
        var end = RescaleInterval ? MainSchedule(0.0) : MainSchedule(WarmupLength);
        var progress = where / WarmupLength;
        return end * progress + start * (1 - progress);
    }

    public IReadOnlyList<double> GetLr(long iteration)
    {
        var multiplier = Multiplier(iteration);
        return _baseLrs.Select(lr => lr * multiplier).ToArray();
    }

    public void Step()
    {
        LastIteration++;
        Apply();
    }

    public string StateToJson()
    {
        var state = new JsonObject
        {
            ["base_lrs"] = new JsonArray(_baseLrs.Select(lr => (JsonNode)JsonValue.Create(lr)).ToArray()),
            ["last_epoch"] = LastIteration,
        };
        return state.ToJsonString();
    }

    public void LoadStateFromJson(string json)
    {
        ArgumentException.ThrowIfNullOrEmpty(json);
        JsonNode? state;
        try
        {
            state = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"The LR scheduler state is not valid JSON: {e.Message}", e);
        }
        var baseLrs = state?["base_lrs"] as JsonArray
            ?? throw new FormatException("The LR scheduler state has no 'base_lrs' list.");
        var lastEpoch = state!["last_epoch"]?.GetValue<long>()
            ?? throw new FormatException("The LR scheduler state has no 'last_epoch'.");
        if (baseLrs.Count != _groups.Count)
            throw new FormatException(
                $"The LR scheduler state holds {baseLrs.Count} base lrs but the optimizer has {_groups.Count} parameter groups.");
        _baseLrs = baseLrs.Select(v => v?.GetValue<double>() ?? throw new FormatException("A base lr in the LR scheduler state is null.")).ToArray();
        LastIteration = lastEpoch;
        Apply();
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{GetType().Name}(max_iter={MaxIter}, warmup {WarmupMethod} x{WarmupFactor} over {WarmupIters}, last_epoch={LastIteration})");

    private void Apply()
    {
        var lrs = GetLr(LastIteration);
        for (var i = 0; i < _groups.Count; i++)
            _groups[i].LearningRate = lrs[i];
    }
}
