namespace D2.SageMaker.Contract;

// SageMaker's status names, shared by the AWS client, the local SageMaker and the front ends (wire value = member
// name). Zero members are "Unknown": values AWS adds later read as that.

/// <summary>DescribeTrainingJob's TrainingJobStatus.</summary>
public enum TrainingJobStatus { Unknown, InProgress, Completed, Failed, Stopping, Stopped, Deleting }

/// <summary>DescribeTrainingJob's SecondaryStatus (and SecondaryStatusTransitions' Status).</summary>
public enum SecondaryStatus
{
    Unknown, Starting, LaunchingMLInstances, PreparingTrainingStack, Downloading, DownloadingTrainingImage, Training,
    Uploading, Stopping, Stopped, MaxRuntimeExceeded, Completed, Failed, Interrupted, MaxWaitTimeExceeded, Updating,
    Restarting, Pending,
}

/// <summary>DescribeEndpoint's EndpointStatus.</summary>
public enum EndpointStatus
{
    Unknown, OutOfService, Creating, Updating, SystemUpdating, RollingBack, InService, Deleting, Failed, UpdateRollbackFailed,
}
