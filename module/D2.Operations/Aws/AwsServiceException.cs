using System.Net;

namespace D2.Operations.Aws;

/// <summary>An error answered by an AWS service (or the local SageMaker), parsed per contracts §1.2.</summary>
public class AwsServiceException : Exception
{
    public AwsServiceException(string errorCode, string message, HttpStatusCode statusCode, string? requestId)
        : base(string.IsNullOrEmpty(message) ? errorCode : $"{errorCode}: {message}")
    {
        ErrorCode = errorCode;
        ErrorMessage = message;
        StatusCode = statusCode;
        RequestId = requestId;
    }

    /// <summary>Normalised code (e.g. <c>ResourceNotFound</c>, <c>UnrecognizedClientException</c>).</summary>
    public string ErrorCode { get; }

    /// <summary>The service's message without the code prefix.</summary>
    public string ErrorMessage { get; }

    public HttpStatusCode StatusCode { get; }

    /// <summary><c>x-amzn-RequestId</c> (or the XML RequestId), for AWS support.</summary>
    public string? RequestId { get; }

    /// <summary>Server-side failure (5xx).</summary>
    public bool IsServerError => (int)StatusCode >= 500;

    /// <summary>The most specific exception type for <paramref name="errorCode"/>.</summary>
    public static AwsServiceException Create(string errorCode, string message, HttpStatusCode statusCode, string? requestId) =>
        errorCode switch
        {
            "ResourceNotFound" or "ResourceNotFoundException" =>
                new ResourceNotFoundException(errorCode, message, statusCode, requestId),
            "ResourceInUse" or "ResourceInUseException" => new ResourceInUseException(errorCode, message, statusCode, requestId),
            "ResourceLimitExceeded" or "LimitExceededException" =>
                new ResourceLimitExceededException(errorCode, message, statusCode, requestId),
            "ValidationException" or "ValidationError" or "InvalidParameterException" or "InvalidParameterValue" =>
                new ServiceValidationException(errorCode, message, statusCode, requestId),
            "RepositoryNotFoundException" => new RepositoryNotFoundException(errorCode, message, statusCode, requestId),
            "RepositoryAlreadyExistsException" => new RepositoryAlreadyExistsException(errorCode, message, statusCode, requestId),
            "ImageNotFoundException" => new ImageNotFoundException(errorCode, message, statusCode, requestId),
            "ModelError" => new ModelErrorException(errorCode, message, statusCode, requestId),
            "ModelNotReadyException" => new ModelNotReadyException(errorCode, message, statusCode, requestId),
            "UnrecognizedClientException" or "InvalidClientTokenId" or "ExpiredToken" or "ExpiredTokenException"
                or "SignatureDoesNotMatch" or "InvalidSignatureException" or "IncompleteSignature" or "MissingAuthenticationToken"
                or "AccessDeniedException" or "AccessDenied" =>
                new AwsAuthenticationException(errorCode, message, statusCode, requestId),
            _ when AwsRetryClassifier.IsThrottlingCode(errorCode) => new ThrottlingException(errorCode, message, statusCode, requestId),
            _ => new AwsServiceException(errorCode, message, statusCode, requestId),
        };
}
