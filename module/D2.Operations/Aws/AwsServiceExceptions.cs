using System.Net;

namespace D2.Operations.Aws;

// Typed errors for the codes the selected operations model (contracts §1.2, §1.5); AwsServiceException.Create picks one.

/// <summary>SageMaker <c>ResourceNotFound</c>: the job/model/endpoint (or a referenced image/role) does not exist.</summary>
public sealed class ResourceNotFoundException(string errorCode, string message, HttpStatusCode statusCode, string? requestId)
    : AwsServiceException(errorCode, message, statusCode, requestId);

/// <summary>SageMaker <c>ResourceInUse</c>: the name is taken or the resource is busy.</summary>
public sealed class ResourceInUseException(string errorCode, string message, HttpStatusCode statusCode, string? requestId)
    : AwsServiceException(errorCode, message, statusCode, requestId);

/// <summary>A quota was hit (SageMaker <c>ResourceLimitExceeded</c>, ECR <c>LimitExceededException</c>).</summary>
public sealed class ResourceLimitExceededException(string errorCode, string message, HttpStatusCode statusCode, string? requestId)
    : AwsServiceException(errorCode, message, statusCode, requestId);

/// <summary>The service rejected the request (<c>ValidationException</c>, runtime <c>ValidationError</c>, ECR <c>InvalidParameterException</c>).</summary>
public sealed class ServiceValidationException(string errorCode, string message, HttpStatusCode statusCode, string? requestId)
    : AwsServiceException(errorCode, message, statusCode, requestId);

/// <summary>Throttled (<c>ThrottlingException</c> and the other throttling codes); retried before it surfaces.</summary>
public sealed class ThrottlingException(string errorCode, string message, HttpStatusCode statusCode, string? requestId)
    : AwsServiceException(errorCode, message, statusCode, requestId);

/// <summary>Credentials were missing, invalid, expired or not allowed.</summary>
public sealed class AwsAuthenticationException(string errorCode, string message, HttpStatusCode statusCode, string? requestId)
    : AwsServiceException(errorCode, message, statusCode, requestId);

/// <summary>ECR <c>RepositoryNotFoundException</c>.</summary>
public sealed class RepositoryNotFoundException(string errorCode, string message, HttpStatusCode statusCode, string? requestId)
    : AwsServiceException(errorCode, message, statusCode, requestId);

/// <summary>ECR <c>RepositoryAlreadyExistsException</c>.</summary>
public sealed class RepositoryAlreadyExistsException(string errorCode, string message, HttpStatusCode statusCode, string? requestId)
    : AwsServiceException(errorCode, message, statusCode, requestId);

/// <summary>ECR <c>ImageNotFoundException</c>.</summary>
public sealed class ImageNotFoundException(string errorCode, string message, HttpStatusCode statusCode, string? requestId)
    : AwsServiceException(errorCode, message, statusCode, requestId);

/// <summary>Runtime <c>ModelError</c> (424): the container answered non-2xx or timed out.</summary>
public sealed class ModelErrorException(string errorCode, string message, HttpStatusCode statusCode, string? requestId)
    : AwsServiceException(errorCode, message, statusCode, requestId)
{
    /// <summary>Status the container answered.</summary>
    public int? OriginalStatusCode { get; init; }

    /// <summary>Body the container answered.</summary>
    public string? OriginalMessage { get; init; }

    /// <summary>CloudWatch log stream of the container.</summary>
    public string? LogStreamArn { get; init; }
}

/// <summary>Runtime <c>ModelNotReadyException</c> (429): the model is still loading; retried before it surfaces.</summary>
public sealed class ModelNotReadyException(string errorCode, string message, HttpStatusCode statusCode, string? requestId)
    : AwsServiceException(errorCode, message, statusCode, requestId);
