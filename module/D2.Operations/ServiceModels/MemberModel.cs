namespace D2.Operations.ServiceModels;

/// <summary>A member of a structure shape.</summary>
/// <param name="Name">Member name as it appears on the wire (JSON key).</param>
/// <param name="ShapeName">Name of the member's target shape.</param>
/// <param name="Location">rest-json binding: <c>header</c>, <c>uri</c>, <c>querystring</c>, or null for the body.</param>
/// <param name="LocationName">Header name / URI label / query key for <paramref name="Location"/>.</param>
/// <param name="Deprecated">Marked deprecated in the model.</param>
public sealed record MemberModel(string Name, string ShapeName, string? Location, string? LocationName, bool Deprecated);
