namespace D2.MLOps.Help;

/// <summary>The one source of a cmdlet's help: synopsis and description (parameters use HelpMessage).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class CmdletHelpAttribute(string synopsis, string description) : Attribute
{
    public string Synopsis { get; } = synopsis;

    public string Description { get; } = description;
}

/// <summary>One help example: the code and what it does.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class HelpExampleAttribute(string code, string remarks) : Attribute
{
    public string Code { get; } = code;

    public string Remarks { get; } = remarks;
}
