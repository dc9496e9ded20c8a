namespace D2.Detection.Engine;

/// <summary>Detectron2's EventWriter: reports what an <see cref="EventStorage"/> holds (a file, the console, TensorBoard). Dispose closes it.</summary>
public interface IEventWriter : IDisposable
{
    /// <summary>Reports the scalars new since the last call (or the current state, for printers).</summary>
    void Write(EventStorage storage);
}
