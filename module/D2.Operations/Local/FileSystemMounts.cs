using System.Text.Json.Nodes;

namespace D2.Operations.Local;

/// <summary>
/// FileSystemDataSource channels on the local SageMaker. SageMaker mounts the EFS / FSx for Lustre directory at
/// /opt/ml/input/data/{channel} instead of copying anything; here the channel is a symbolic link to the directory on
/// this machine (<see cref="LocalSageMakerOptions.FileSystemMounts"/>), so nothing is copied either. A directory that is
/// not there is refused at CreateTrainingJob, naming the channel and where it was looked for. The access mode is not
/// enforced: an <c>ro</c> channel is as writable as the directory it links to.
/// </summary>
internal static class FileSystemMounts
{
    /// <summary>The local directory of the channel.</summary>
    /// <param name="vpcGiven">whether the request has a VpcConfig, which SageMaker requires to reach a file system</param>
    /// <exception cref="LocalApiException">ValidationException: no VpcConfig, or the directory is not on this machine</exception>
    public static string Resolve(LocalSageMakerOptions options, string channel, JsonObject source, bool vpcGiven)
    {
        var id = (string)source["FileSystemId"]!;
        var directoryPath = (string)source["DirectoryPath"]!;
        if (!vpcGiven)
            throw LocalApiException.Validation($"Channel '{channel}': a FileSystemDataSource ({id}) needs the job's VpcConfig, "
                + "the subnets and security groups through which the instances reach the file system.");
        var mounted = options.FileSystemMounts.TryGetValue(id, out var mount);
        var local = mounted ? Path.GetFullPath(Path.Combine(mount!, directoryPath.TrimStart('/'))) : directoryPath;
        if (!Directory.Exists(local))
            throw LocalApiException.Validation($"Channel '{channel}': FileSystemDataSource {id} DirectoryPath '{directoryPath}' is not available to the local SageMaker: "
                + (mounted ? $"{local} ({id} mounted at {mount}) is not a directory." : $"{local} is not a directory on this machine and {id} has no local mount "
                    + "(LocalSageMakerOptions.FileSystemMounts, `d2-local-sagemaker --file-system-mount ID=DIR`)."));
        return local;
    }

    /// <summary>Makes <paramref name="channelFolder"/> a link to <paramref name="directory"/>, as the mount would be.</summary>
    public static void Mount(string directory, string channelFolder)
    {
        if (Directory.Exists(channelFolder) || File.Exists(channelFolder))
        {
            var info = new DirectoryInfo(channelFolder);
            if (info.LinkTarget is not null)
                info.Delete();
            else
                Directory.Delete(channelFolder, recursive: true);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(channelFolder)!);
        Directory.CreateSymbolicLink(channelFolder, directory);
    }
}
