using System.Collections;
using D2.Detection.Modeling;

namespace D2.Detection.Data.Loader;

/// <summary>
/// One training batch: Detectron2's plain list of per-image inputs (no collation; the model pads), with the records
/// they came from and how long the consumer waited for it (Detectron2's <c>data_time</c>). The batch owns the image
/// tensors and instances: dispose it once the step is done.
/// </summary>
public sealed class DataBatch : IReadOnlyList<ModelInput>, IDisposable
{
    readonly ModelInput[] _inputs;

    internal DataBatch(IReadOnlyList<ModelInput> inputs, IReadOnlyList<DatasetRecord> records, TimeSpan dataTime)
    {
        _inputs = inputs.ToArray();
        Records = records.ToArray();
        DataTime = dataTime;
    }

    /// <summary>The record of each input, same order.</summary>
    public IReadOnlyList<DatasetRecord> Records { get; }

    /// <summary>Time the consumer spent waiting for this batch (mapping that the workers had not finished in advance).</summary>
    public TimeSpan DataTime { get; }

    public int Count => _inputs.Length;

    public ModelInput this[int index] => _inputs[index];

    public IEnumerator<ModelInput> GetEnumerator() => ((IEnumerable<ModelInput>)_inputs).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var input in _inputs) DisposeInput(input);
    }

    internal static void DisposeInput(ModelInput? input)
    {
        if (input is null) return;
        input.Image.Dispose();
        input.Instances?.Dispose();
    }
}
