using System.Collections;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace D2.Detection.Checkpoint;

/// <summary>
/// PyTorch <c>torch.save</c> files (<c>.pth</c>/<c>.pt</c>, the zip format of PyTorch 1.6 and later) through
/// TorchSharp.PyBridge: a state dict, or a dict holding one under <c>model</c> (Detectron2's training checkpoints).
/// </summary>
internal static class TorchCheckpointReader
{
    /// <returns>the top-level dict (string keys) with tensors on the CPU, in the caller's dispose scope</returns>
    public static Hashtable Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var head = new byte[LegacyMagic.Length];
        var headLength = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Seek(0, SeekOrigin.Begin);
        if (head.AsSpan(0, headLength).SequenceEqual(LegacyMagic))
            throw new CheckpointFormatException(path,
                "this file uses PyTorch's legacy (pre-1.6, non-zip) serialization, which cannot be read here; re-save it with torch.save from PyTorch 1.6 or later.");
        if (headLength < 4 || !head.AsSpan(0, 4).SequenceEqual("PK\u0003\u0004"u8))
            throw new CheckpointFormatException(path, "not a PyTorch checkpoint: torch.save files are zip archives (they start with 'PK').");
        try
        {
            return PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true);
        }
        catch (NotImplementedException e) when (e.Message.Contains("entire model", StringComparison.Ordinal))
        {
            throw new CheckpointFormatException(path, "this file holds a pickled nn.Module, not a state dict; save model.state_dict() instead.", e);
        }
        catch (System.Runtime.InteropServices.ExternalException e) when (e.Message.Contains("storage", StringComparison.Ordinal))
        {
            // PyBridge rebuilds every tensor on a storage of its own size, so views into a shared storage fail.
            throw new CheckpointFormatException(path,
                $"a tensor is a view into a shared storage, which TorchSharp.PyBridge cannot rebuild ({e.Message}); re-save with cloned tensors, e.g. {{k: v.clone() for k, v in state_dict.items()}}.", e);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or InvalidOperationException or NotImplementedException
                                      or InvalidCastException or Razorvine.Pickle.PickleException or System.Runtime.InteropServices.ExternalException)
        {
            throw new CheckpointFormatException(path, $"not a readable PyTorch zip checkpoint ({e.GetType().Name}: {e.Message}).", e);
        }
    }

    /// <summary>
    /// Start of a legacy torch.save file: pickle protocol 2, then torch's magic number 0x1950a86a20f9469cfc6c as a
    /// LONG1 of 10 bytes (torch.serialization.MAGIC_NUMBER).
    /// </summary>
    private static readonly byte[] LegacyMagic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

    /// <summary>The state dict inside a loaded file: its <c>model</c> entry when there is one (Detectron2's layout), else the whole dict.</summary>
    public static IEnumerable<KeyValuePair<string, Tensor>> StateDict(string path, Hashtable loaded)
    {
        var stateDict = loaded["model"] is Hashtable model ? model : loaded;
        foreach (DictionaryEntry entry in stateDict)
        {
            if (entry.Key is not string key)
                throw new CheckpointFormatException(path, $"state-dict key {entry.Key} is not a string.");
            // fvcore's message for anything that is not a tensor.
            yield return entry.Value is Tensor tensor
                ? new(key, tensor)
                : throw new CheckpointFormatException(path, $"Unsupported type found in checkpoint! {key}: {entry.Value?.GetType().Name ?? "None"}");
        }
    }
}
