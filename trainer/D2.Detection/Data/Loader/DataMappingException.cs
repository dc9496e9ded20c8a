namespace D2.Detection.Data.Loader;

/// <summary>Mapping a record failed (on a loader worker or on the consumer); names the record so the bad file can be found.</summary>
public sealed class DataMappingException : Exception
{
    public DataMappingException(DatasetRecord record, Exception innerException)
        : base($"Mapping dataset record '{record?.FileName}' (image id {record?.ImageId}) failed: {innerException?.Message}", innerException)
    {
        ArgumentNullException.ThrowIfNull(record);
        Record = record;
    }

    public DatasetRecord Record { get; }

    public string FileName => Record.FileName;
}
