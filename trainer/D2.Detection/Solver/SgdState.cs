using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace D2.Detection.Solver;

/// <summary>What <see cref="SgdState.Restore"/> did: buffers restored, parameters left without one, checkpoint entries unused.</summary>
public sealed record SgdStateRestoreReport(IReadOnlyList<string> Restored, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected)
{
    public bool IsComplete => Missing.Count == 0 && Unexpected.Count == 0;
}

/// <summary>
/// SGD's resumable state (the momentum buffers torch keeps per parameter) by the parameters' state-dict names,
/// <c>&lt;parameter&gt;.momentum_buffer</c>, so a checkpoint holds it next to the weights and a resumed run takes exactly
/// the steps the uninterrupted one would. The lrs are not saved: the LR scheduler's state restores them.
/// </summary>
public static class SgdState
{
    public const string MomentumSuffix = ".momentum_buffer";

    /// <summary>The optimizer's momentum buffers by name (the live tensors: read, do not dispose); parameters without one yet are absent.</summary>
    /// <param name="model">names the parameters (every optimized parameter must belong to it)</param>
    public static Dictionary<string, Tensor> Capture(SGD optimizer, nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, _, parameterState) in Entries(optimizer, model))
            if (parameterState.momentum_buffer is { } buffer)
                state[name + MomentumSuffix] = buffer;
        return state;
    }

    /// <summary>
    /// Replaces the optimizer's momentum buffers with copies of <paramref name="state"/>'s (on each parameter's device and
    /// dtype); parameters without an entry start without a buffer, as in a fresh optimizer.
    /// </summary>
    public static SgdStateRestoreReport Restore(SGD optimizer, nn.Module model, IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(state);
        var restored = new List<string>();
        var missing = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, parameter, parameterState) in Entries(optimizer, model))
        {
            var key = name + MomentumSuffix;
            parameterState.momentum_buffer?.Dispose();
            parameterState.momentum_buffer = null;
            if (!state.TryGetValue(key, out var saved))
            {
                missing.Add(name);
                continue;
            }
            if (!saved.shape.SequenceEqual(parameter.shape))
                throw new ArgumentException(
                    $"The momentum buffer of {name} has shape [{string.Join(", ", saved.shape)}] but the parameter has [{string.Join(", ", parameter.shape)}].");
            using (no_grad())
                parameterState.momentum_buffer = saved.to(parameter.dtype, parameter.device, copy: true).detach().DetachFromDisposeScope();
            used.Add(key);
            restored.Add(name);
        }
        var unexpected = state.Keys.Where(k => !used.Contains(k)).Order(StringComparer.Ordinal).ToList();
        return new SgdStateRestoreReport(restored, missing, unexpected);
    }

    /// <summary>Each optimized parameter with its name and torch state, in the optimizer's group order.</summary>
    private static IEnumerable<(string Name, Parameter Parameter, SGD.State State)> Entries(SGD optimizer, nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var names = new Dictionary<IntPtr, string>();
        foreach (var (name, parameter) in model.named_parameters())
            names.TryAdd(parameter.Handle, name);
        // state_dict lists the live per-parameter states in group order, parallel to the groups' parameters.
        var states = optimizer.state_dict().State;
        var parameters = optimizer.ParamGroups.Cast<TorchSharp.Modules.ParamGroup>().SelectMany(g => g.Parameters).ToList();
        if (parameters.Count != states.Count)
            throw new InvalidOperationException($"The optimizer lists {parameters.Count} parameters but {states.Count} states.");
        for (var i = 0; i < parameters.Count; i++)
        {
            var name = names.TryGetValue(parameters[i].Handle, out var found)
                ? found
                : throw new ArgumentException($"Optimized parameter {i} does not belong to the model, so its state cannot be named.", nameof(model));
            yield return (name, parameters[i], (SGD.State)states[i]);
        }
    }
}
