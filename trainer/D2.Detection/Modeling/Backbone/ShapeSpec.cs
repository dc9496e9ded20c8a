namespace D2.Detection.Modeling.Backbone;

/// <summary>Channels and stride of one named feature map (Detectron2's ShapeSpec).</summary>
public sealed record ShapeSpec(long Channels, long Stride);
