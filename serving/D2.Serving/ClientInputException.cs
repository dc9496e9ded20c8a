namespace D2.Serving;

/// <summary>The request's input is wrong in a way the client can fix; answered with <see cref="Status"/> (a 4xx) and the message.</summary>
internal sealed class ClientInputException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
