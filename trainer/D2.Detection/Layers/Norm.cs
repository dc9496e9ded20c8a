using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>Detectron2's get_norm: the normalisation a config string names.</summary>
public static class Norm
{
    /// <summary>Names accepted by MODEL.RESNETS.NORM, MODEL.FPN.NORM, MODEL.ROI_BOX_HEAD.NORM, ...</summary>
    public static readonly IReadOnlyList<string> Supported = ["", "BN", "SyncBN", "naiveSyncBN", "nnSyncBN", "FrozenBN", "GN"];

    /// <returns>the module, or null for "" (no normalisation)</returns>
    public static nn.Module<Tensor, Tensor>? Create(string norm, long channels) => norm switch
    {
        "" => null,
        // One process trains on one device here, where SyncBN reduces to BN; in eval mode all of them are BN with running
        // statistics, under the same state-dict names (Detectron2 models trained with SyncBN load as BN).
        // ScalarSafeBatchNorm2d is torch's BatchNorm2d with its training step's Scalar held.
        "BN" or "SyncBN" or "naiveSyncBN" or "nnSyncBN" => new ScalarSafeBatchNorm2d(channels),
        "FrozenBN" => new FrozenBatchNorm2d(channels),
        // Detectron2 uses 32 groups.
        "GN" => channels % 32 == 0
            ? GroupNorm(channels)
            : throw new ArgumentException($"Norm 'GN' uses 32 groups, which do not divide {channels} channels."),
        _ => throw new ArgumentException($"Norm '{norm}' is not supported; use one of: {string.Join(", ", Supported.Select(s => s.Length == 0 ? "\"\"" : s))}."),
    };

    private static nn.Module<Tensor, Tensor> GroupNorm(long channels)
    {
        var norm = nn.GroupNorm(32, channels);
        // TorchSharp 0.107's GroupNorm leaves its affine parameters uninitialised (garbage, sometimes NaN);
        // PyTorch initialises them to weight 1, bias 0. (nn.init, not fill_(1): fill_ goes through a temporary Scalar that
        // the GC may finalise during the native call, seen as a rare "toFloat" failure under load.)
        nn.init.ones_(norm.weight!);
        nn.init.zeros_(norm.bias!);
        return norm;
    }
}
