using D2.Detection.Layers;
using System.Diagnostics;
using System.Globalization;
using D2.Detection.Config;
using D2.Detection.Distributed;
using D2.Detection.Modeling;
using D2.Detection.Solver;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's SimpleTrainer: each iteration takes the next batch (timed as data_time), computes the loss dict,
/// stores the scalars (statistics, data_time, total_loss, each loss), stops with <see cref="FloatingPointError"/> on a
/// non-finite total, then zero_grad, backward, gradient clipping and the optimizer step. Everything else (lr schedule,
/// checkpoints, evaluation, writers) is done by hooks. Each iteration runs in its own dispose scope, so tensor memory
/// stays flat over the run.
/// </summary>
public class SimpleTrainer : TrainerBase
{
    private readonly Func<IReadOnlyList<ModelInput>, Dictionary<string, Tensor>> _forward;

    /// <param name="model">a <see cref="GeneralizedRCNN"/> (its ForwardTraining) or any module mapping a batch to named losses; put in training mode</param>
    /// <param name="data">batches; it must not end before MaxIter (Detectron2's training sampler repeats forever). Tensors
    /// made during MoveNext on this thread fall into the iteration's dispose scope; a batch that is IDisposable (the data
    /// loader's DataBatch) is disposed after its step.</param>
    /// <param name="clipper">applied to the optimizer's parameters before each step, or null</param>
    public SimpleTrainer(nn.Module model, IEnumerator<IReadOnlyList<ModelInput>> data, optim.Optimizer optimizer, GradientClipper? clipper = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(optimizer);
        _forward = model switch
        {
            GeneralizedRCNN rcnn => rcnn.ForwardTraining,
            nn.Module<IReadOnlyList<ModelInput>, Dictionary<string, Tensor>> module => module.call,
            _ => throw new ArgumentException(
                $"{model.GetType().Name} cannot be trained here: use a GeneralizedRCNN or a module from a batch to a loss dict.", nameof(model)),
        };
        model.train();
        Model = model;
        Data = data;
        Optimizer = optimizer;
        Clipper = clipper;
    }

    public nn.Module Model { get; }
    public IEnumerator<IReadOnlyList<ModelInput>> Data { get; }
    public optim.Optimizer Optimizer { get; }
    public GradientClipper? Clipper { get; }

    /// <summary>
    /// The data-parallel group (default: this process alone). With several ranks, gradients are averaged after backward
    /// (before clipping, as DistributedDataParallel does), the logged scalars are averaged (data_time: the maximum), a
    /// non-finite loss on any rank stops every rank, and a stop request on any rank stops all after the same iteration.
    /// </summary>
    public IProcessGroup Group
    {
        get => _group;
        init
        {
            _group = value ?? throw new ArgumentNullException(nameof(value));
            _reducer = new GradientAllReducer(value);
        }
    }

    private readonly IProcessGroup _group = SingleProcessGroup.Instance;
    private readonly GradientAllReducer? _reducer;

    /// <summary>The gradient all-reducer (null in a single process), for cost measurements.</summary>
    public GradientAllReducer? Reducer => _group.WorldSize > 1 ? _reducer : null;

    protected override void RunStep()
    {
        if (!Model.training)
            throw new InvalidOperationException("[SimpleTrainer] model was changed to eval mode!");
        using var scope = NewDisposeScope();
        var timer = Stopwatch.StartNew();
        if (!Data.MoveNext())
            throw new InvalidOperationException(
                $"The training data ended at iteration {Iter}; the loader must yield batches until SOLVER.MAX_ITER ({MaxIter}).");
        var batch = Data.Current;
        var dataTime = timer.Elapsed.TotalSeconds;
        try
        {
            var losses = _forward(batch);
            if (losses.Count == 0)
                throw new InvalidOperationException("The model returned no losses.");
            var total = losses.Values.Aggregate((a, b) => a.add(b, One));
            WriteMetrics(losses, dataTime);

            ZeroGradients();
            total.backward();
            Reducer?.AllReduce(Optimizer.parameters());
            Clipper?.Clip(Optimizer.parameters());
            Optimizer.step();
        }
        finally
        {
            // A batch that owns its tensors (the data loader's DataBatch) is done with once the step is.
            (batch as IDisposable)?.Dispose();
        }
    }

    /// <summary>Detectron2's <c>write_metrics</c>: the scalars of this iteration, and the divergence check.</summary>
    /// <exception cref="FloatingPointError">the losses sum to infinity or NaN</exception>
    private void WriteMetrics(Dictionary<string, Tensor> losses, double dataTime)
    {
        Storage.PutScalars(TrainingStatistics.Collect(Model));
        var values = losses.Select(p => new KeyValuePair<string, double>(p.Key, p.Value.detach().cpu().to_type(ScalarType.Float64).item<double>())).ToList();
        Storage.PutScalar("rank_data_time", dataTime);
        if (_group.WorldSize > 1)
            (values, dataTime) = ReduceMetrics(values, dataTime);
        Storage.PutScalar("data_time", dataTime);
        var total = values.Sum(p => p.Value);
        if (!double.IsFinite(total))
            throw new FloatingPointError(string.Create(CultureInfo.InvariantCulture,
                $"Loss became infinite or NaN at iteration={Iter}!\nloss_dict = {{{string.Join(", ", values.Select(p => $"'{p.Key}': {PythonRepr.Float(p.Value)}"))}}}"));
        Storage.PutScalar("total_loss", total);
        if (values.Count > 1)
            Storage.PutScalars(values);
    }

    /// <summary>Detectron2's reduction of the ranks' metrics: losses averaged, data_time the maximum.</summary>
    private (List<KeyValuePair<string, double>> Values, double DataTime) ReduceMetrics(List<KeyValuePair<string, double>> values, double dataTime)
    {
        using var means = tensor(values.Select(p => (float)p.Value).ToArray());
        _group.AllReduce(means, ReduceOp.Avg);
        using var slowest = tensor(new[] { (float)dataTime });
        _group.AllReduce(slowest, ReduceOp.Max);
        var reduced = TensorMemory.ToArray<float>(means);
        return (values.Select((p, i) => new KeyValuePair<string, double>(p.Key, reduced[i])).ToList(), slowest.item<float>());
    }

    protected override bool StopRequested(CancellationToken stop)
    {
        if (_group.WorldSize == 1)
            return stop.IsCancellationRequested;
        using var flag = tensor(new[] { stop.IsCancellationRequested ? 1f : 0f });
        _group.AllReduce(flag, ReduceOp.Max);
        return flag.item<float>() > 0;
    }

    /// <summary>torch's zero_grad(set_to_none=True): parameters that get no gradient this iteration are skipped by the step.</summary>
    private void ZeroGradients()
    {
        foreach (var parameter in Optimizer.parameters())
            parameter.grad = null;
    }
}
