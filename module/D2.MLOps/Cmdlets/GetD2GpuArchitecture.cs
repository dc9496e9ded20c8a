using System.Management.Automation;
using D2.MLOps.Help;
using D2.Operations.Matrix;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsCommon.Get, "D2GpuArchitecture", DefaultParameterSetName = "All")]
[OutputType(typeof(GpuArchitecture))]
[CmdletHelp("Gets the GPU architecture matrix (build/gpu-archs.json), or the architecture of one instance type.",
    "Lists every architecture the images are built for (name, torch backend, libtorch package, base image, compute capabilities, instance families), read from the repository's build/gpu-archs.json or, outside it, the copy embedded in the module. With -InstanceType returns the architecture whose image that instance type runs; an unknown family is an InvalidArgument error.")]
[HelpExample("Get-D2GpuArchitecture", "Lists the matrix.")]
[HelpExample("Get-D2GpuArchitecture -InstanceType ml.g5.xlarge | Select-Object Name, ComputeCapabilities",
    "Shows which image architecture an ml.g5.xlarge runs.")]
public sealed class GetD2GpuArchitecture : D2Cmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "InstanceType", ValueFromPipeline = true, HelpMessage = "A SageMaker instance type, e.g. ml.g5.xlarge.")]
    public string InstanceType { get; set; } = "";

    [Parameter(HelpMessage = "Read this gpu-archs.json instead of the repository's (or the embedded) matrix.")]
    public string? Path { get; set; }

    protected override void ProcessRecord()
    {
        var matrix = Run(_ => Task.FromResult(Path is null ? GpuArchitectureMatrix.LoadDefault(SessionState.Path.CurrentFileSystemLocation.Path)
            : GpuArchitectureMatrix.Load(GetUnresolvedProviderPathFromPSPath(Path))), Path);
        if (ParameterSetName == "InstanceType")
        {
            WriteObject(Run(_ => Task.FromResult(matrix.ForInstanceType(InstanceType)), InstanceType));
        }
        else
        {
            WriteObject(matrix.Architectures, enumerateCollection: true);
        }
    }
}
