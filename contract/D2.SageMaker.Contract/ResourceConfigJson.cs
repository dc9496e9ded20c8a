namespace D2.SageMaker.Contract;

/// <summary>
/// The members of /opt/ml/input/config/resourceconfig.json that SageMaker writes for a training container and the
/// trainer reads to lay out a multi-instance job (hosts are algo-1 ... algo-N; the sorted first is machine 0).
/// </summary>
public static class ResourceConfigJson
{
    public const string CurrentHost = "current_host";

    public const string CurrentInstanceType = "current_instance_type";

    public const string CurrentGroupName = "current_group_name";

    public const string Hosts = "hosts";

    public const string InstanceGroups = "instance_groups";

    public const string InstanceGroupName = "instance_group_name";

    public const string InstanceType = "instance_type";

    public const string NetworkInterfaceName = "network_interface_name";

    /// <summary>The first host's name, the only one of a single-instance job.</summary>
    public const string FirstHost = "algo-1";

    /// <summary>The group name of a job that is not a heterogeneous cluster.</summary>
    public const string HomogeneousCluster = "homogeneousCluster";
}
