namespace D2.Operations.ServiceModels;

/// <summary>One operation of a service model: HTTP binding, input/output shape names, modeled errors.</summary>
/// <param name="Name">Operation name as sent in <c>X-Amz-Target</c> / <c>Action</c> (e.g. <c>CreateTrainingJob</c>).</param>
/// <param name="HttpMethod">HTTP method of the binding (always POST for the services here).</param>
/// <param name="RequestUri">Path template, e.g. <c>/endpoints/{EndpointName}/invocations</c>.</param>
/// <param name="InputShape">Input structure name, null when the operation takes no input.</param>
/// <param name="OutputShape">Output structure name, null when the operation returns nothing.</param>
/// <param name="Errors">Names of the modeled error shapes.</param>
public sealed record OperationModel(
    string Name,
    string HttpMethod,
    string RequestUri,
    string? InputShape,
    string? OutputShape,
    IReadOnlyList<string> Errors);
