namespace D2.Operations;

/// <summary>Anchor for the assembly (embedded service models, reflection in tests).</summary>
public static class OperationsAssembly;
