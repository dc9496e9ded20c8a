using System.Collections;
using System.Diagnostics;
using D2.Detection.Modeling;

namespace D2.Detection.Data.Loader;

/// <summary>One test image: the record (for the evaluator: image id, file) and the model's input. Disposing frees the image tensor.</summary>
public sealed record InferenceInput(DatasetRecord Record, ModelInput Input) : IDisposable
{
    public void Dispose() => DataBatch.DisposeInput(Input);
}

/// <summary>
/// Detectron2's test loader (<c>build_detection_test_loader</c> with InferenceSampler, spec §4): every record once, in
/// dataset order, batch size 1, test-time mapping (resize only, annotations dropped). Maps on the consumer's thread.
/// </summary>
public sealed class InferenceDataLoader : IEnumerable<InferenceInput>
{
    readonly Func<DatasetRecord, Random, ModelInput> _map;

    /// <param name="map">usually a test-time <see cref="DatasetMapper"/>'s Map</param>
    public InferenceDataLoader(IReadOnlyList<DatasetRecord> records, Func<DatasetRecord, Random, ModelInput> map)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(map);
        Records = records;
        _map = map;
    }

    public IReadOnlyList<DatasetRecord> Records { get; }

    public int Count => Records.Count;

    /// <summary>How long mapping the last input took (data_time of inference).</summary>
    public TimeSpan LastDataTime { get; private set; }

    /// <exception cref="DataMappingException">a record cannot be mapped; names its file</exception>
    public IEnumerator<InferenceInput> GetEnumerator()
    {
        for (var i = 0; i < Records.Count; i++)
        {
            var record = Records[i];
            var watch = Stopwatch.StartNew();
            ModelInput input;
            try
            {
                // Test-time mapping draws nothing random; a fixed generator keeps it so if an augmentation ever does.
                input = _map(record, new Random(SampleSeeds.Derive(0, i)));
            }
            catch (Exception e)
            {
                throw new DataMappingException(record, e);
            }
            LastDataTime = watch.Elapsed;
            yield return new InferenceInput(record, input);
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
