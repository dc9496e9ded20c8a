using D2.Detection.Modeling;

namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's EvalHook: runs an evaluation every <see cref="Period"/> iterations (when (t + 1) % period == 0, except
/// after the last iteration) and once after training completes; stores the results unsmoothed as "task/metric"
/// scalars ("bbox/AP50", "segm/AP") at the current iteration, and logs Detectron2's "copypaste" lines.
/// </summary>
public sealed class EvalHook : HookBase
{
    private readonly Func<IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>?> _evaluate;

    /// <param name="period">TEST.EVAL_PERIOD; 0 evaluates only after training</param>
    /// <param name="evaluate">returns results by task then metric ({"bbox": {"AP": 40.1, "AP50": ...}}), or null/empty for none</param>
    /// <param name="evalAfterTrain">evaluate once after the last iteration</param>
    public EvalHook(long period, Func<IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>?> evaluate, bool evalAfterTrain = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(period);
        _evaluate = evaluate ?? throw new ArgumentNullException(nameof(evaluate));
        Period = period;
        EvalAfterTrain = evalAfterTrain;
    }

    /// <summary>Evaluates <paramref name="model"/> in eval mode (Detectron2's inference_context), restoring its mode after.</summary>
    public EvalHook(long period, GeneralizedRCNN model, Func<GeneralizedRCNN, IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>?> evaluate,
        bool evalAfterTrain = true)
        : this(period, InInferenceMode(model, evaluate), evalAfterTrain)
    {
    }

    public long Period { get; }
    public bool EvalAfterTrain { get; }

    /// <summary>The results of the latest evaluation, or null before the first.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>? LastResults { get; private set; }

    public override void AfterStep()
    {
        var next = Trainer.Iter + 1;
        // The evaluation after the last iteration happens in AfterTrain.
        if (Period > 0 && next % Period == 0 && next != Trainer.MaxIter)
            Evaluate();
    }

    public override void AfterTrain()
    {
        // Skipped when training failed before the last iteration.
        if (EvalAfterTrain && Trainer.Iter + 1 >= Trainer.MaxIter)
            Evaluate();
    }

    private void Evaluate()
    {
        var results = _evaluate();
        if (results is null || results.Count == 0)
            return;
        LastResults = results;
        Trainer.Storage.PutScalars(Flatten(results), smoothingHint: false);
        foreach (var line in CopyPasteLines(results))
            Trainer.Log.WriteLine(line);
    }

    /// <summary>Detectron2's <c>flatten_results_dict</c>: {"bbox": {"AP50": x}} -> "bbox/AP50": x.</summary>
    public static IEnumerable<KeyValuePair<string, double>> Flatten(IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> results) =>
        results.SelectMany(task => task.Value.Select(metric => new KeyValuePair<string, double>($"{task.Key}/{metric.Key}", metric.Value)));

    /// <summary>Detectron2's <c>print_csv_format</c>: per task, the metric names then the values (4 decimals), per-category "AP-x" left out.</summary>
    public static IEnumerable<string> CopyPasteLines(IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> results)
    {
        foreach (var (task, metrics) in results)
        {
            var important = metrics.Where(m => !m.Key.Contains('-', StringComparison.Ordinal)).ToList();
            yield return $"copypaste: Task: {task}";
            yield return "copypaste: " + string.Join(",", important.Select(m => m.Key));
            yield return "copypaste: " + string.Join(",", important.Select(m => PythonFormat.Fixed(m.Value, 4)));
        }
    }

    private static Func<IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>?> InInferenceMode(GeneralizedRCNN model,
        Func<GeneralizedRCNN, IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>?> evaluate)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(evaluate);
        return () =>
        {
            var wasTraining = model.training;
            model.eval();
            try
            {
                return evaluate(model);
            }
            finally
            {
                model.train(wasTraining);
            }
        };
    }
}
