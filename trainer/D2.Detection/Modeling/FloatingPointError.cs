namespace D2.Detection.Modeling;

/// <summary>Training produced non-finite boxes, scores or losses ("training has diverged"), as Detectron2's FloatingPointError.</summary>
public sealed class FloatingPointError(string message) : Exception(message);
