using D2.Operations.Aws;

namespace D2.Operations.Steps;

/// <summary>What kind of failure an operation's exception is, so every front end reports it the same way.</summary>
public enum OperationErrorKind
{
    Unknown,
    InvalidArgument,
    NotFound,
    InUse,
    LimitExceeded,
    Authentication,
    Timeout,
    ResourceFailed,
    Cancelled,
}

/// <summary>Classifies the operations' exceptions (AWS error codes, request validation, waits, failed resources).</summary>
public static class OperationErrors
{
    public static OperationErrorKind Classify(Exception error) => error switch
    {
        AwsRequestValidationException or InvalidProfileException => OperationErrorKind.InvalidArgument,
        AwsServiceException aws when IsNotFound(aws) => OperationErrorKind.NotFound,
        ResourceInUseException => OperationErrorKind.InUse,
        ResourceLimitExceededException or ThrottlingException => OperationErrorKind.LimitExceeded,
        AwsAuthenticationException => OperationErrorKind.Authentication,
        ServiceValidationException => OperationErrorKind.InvalidArgument,
        TrainingJobFailedException or EndpointFailedException or ModelErrorException => OperationErrorKind.ResourceFailed,
        OperationCanceledException => OperationErrorKind.Cancelled,
        TimeoutException => OperationErrorKind.Timeout,
        ArgumentException or FormatException => OperationErrorKind.InvalidArgument,
        FileNotFoundException or DirectoryNotFoundException => OperationErrorKind.NotFound,
        _ => OperationErrorKind.Unknown,
    };

    /// <summary>
    /// ResourceNotFound, or the ValidationException SageMaker answers for a missing endpoint, endpoint config or model
    /// ("Could not find ...") and SageMaker Runtime for a missing endpoint ("Endpoint ... not found").
    /// </summary>
    public static bool IsNotFound(AwsServiceException error) =>
        error is ResourceNotFoundException
        || (error.ErrorCode is "ValidationException" or "ValidationError"
            && (error.ErrorMessage.Contains("Could not find", StringComparison.Ordinal)
                || error.ErrorMessage.Contains("not found", StringComparison.OrdinalIgnoreCase)));

    /// <summary>The request members at fault (first path segment, e.g. <c>TrainingJobName</c>), for naming the caller's parameter.</summary>
    public static IReadOnlyList<string> Members(Exception error) => error switch
    {
        AwsRequestValidationException validation => validation.Violations
            .Select(v => v.MemberPath.Split('.', '[')[0]).Distinct(StringComparer.OrdinalIgnoreCase).ToList(),
        InvalidProfileException profile => [profile.Field.Split('.')[0]],
        _ => [],
    };

    /// <summary>What the caller can do about it.</summary>
    public static string RecommendedAction(OperationErrorKind kind) => kind switch
    {
        OperationErrorKind.InvalidArgument => "Correct the named parameter and run the command again; nothing was sent.",
        OperationErrorKind.NotFound => "Check the name (and the region or -Local): list what exists with the matching Get- command.",
        OperationErrorKind.InUse => "Wait until the resource leaves its transitional status, then retry.",
        OperationErrorKind.LimitExceeded => "Retry later, or ask for a service quota increase.",
        OperationErrorKind.Authentication => "Check the credentials (-ProfileName, -AccessKey/-SecretKey, environment) and the role's permissions.",
        OperationErrorKind.Timeout => "The resource keeps going: check it again later with the matching Get- command.",
        OperationErrorKind.ResourceFailed => "Read FailureReason (and the job's or endpoint's logs), fix the cause and start again.",
        _ => "See the exception for details.",
    };
}
