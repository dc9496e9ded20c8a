using TorchSharp;

namespace D2.Detection.Tests.Checkpoint;

/// <summary>A container whose children get the given names, so tests can build Detectron2-style state-dict names.</summary>
internal sealed class Named : torch.nn.Module
{
    public Named(params (string Name, torch.nn.Module Module)[] children) : base(nameof(Named))
    {
        foreach (var (name, module) in children)
            register_module(name, module);
    }
}
