namespace D2.Operations.ServiceModels;

/// <summary>The <c>type</c> of a botocore shape.</summary>
public enum ShapeType
{
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Boolean,
    Float,
    Double,
    Timestamp,
    Blob,
}
