namespace D2.Operations.Matrix;

/// <summary>One entry of build/gpu-archs.json: an image variant and the SageMaker instance families it serves.</summary>
/// <param name="Name">Image tag suffix: <c>cpu</c>, <c>turing</c>, <c>ampere</c>, <c>ada</c>, <c>hopper</c>.</param>
/// <param name="TorchBackend"><c>cpu</c> or <c>cuda</c> (the build's TorchBackend property).</param>
/// <param name="LibTorchPackage">The libtorch NuGet package the images of this entry ship.</param>
/// <param name="BaseImage">Runtime base image (the Dockerfiles' BASE_IMAGE build argument).</param>
/// <param name="ComputeCapabilities">CUDA targets (<c>sm_80</c>, ...); empty for CPU.</param>
/// <param name="InstanceFamilies">SageMaker families without the size (<c>ml.g5</c>, ...).</param>
/// <param name="NcclPackage">cuda only: the pinned apt package of NCCL the trainer image installs (<c>libnccl2=VERSION</c>).</param>
public sealed record GpuArchitecture(
    string Name,
    string TorchBackend,
    string? LibTorchPackage,
    string BaseImage,
    IReadOnlyList<string> ComputeCapabilities,
    IReadOnlyList<string> InstanceFamilies,
    string? NcclPackage = null)
{
    public bool IsGpu => TorchBackend == "cuda";

    public override string ToString() => Name;
}
