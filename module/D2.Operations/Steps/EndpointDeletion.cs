namespace D2.Operations.Steps;

/// <summary>What DeleteEndpoint removed.</summary>
/// <param name="EndpointName">The endpoint.</param>
/// <param name="Existed">False when there was no such endpoint (nothing was deleted).</param>
/// <param name="EndpointConfigName">Its config (deleted only when asked).</param>
/// <param name="DeletedResources">Everything deleted, e.g. <c>endpoint x</c>, <c>endpoint config y</c>, <c>model z</c>.</param>
public sealed record EndpointDeletion(string EndpointName, bool Existed, string? EndpointConfigName, IReadOnlyList<string> DeletedResources);
