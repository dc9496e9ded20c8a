using System.Management.Automation;
using System.Reflection;
using System.Xml.Linq;

namespace D2.MLOps.Help;

/// <summary>
/// Writes D2.MLOps.dll-Help.xml (MAML, what Get-Help reads for binary modules) from the cmdlet classes: the build
/// runs it after compiling, so the help has one source, the attributes beside the parameters.
/// </summary>
public static class MamlWriter
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    /// <summary>The cmdlet classes of an assembly, by name (Verb-Noun).</summary>
    public static IReadOnlyList<(string Name, Type Type)> Cmdlets(Assembly assembly) =>
        assembly.GetExportedTypes()
            .Select(t => (Type: t, Attribute: t.GetCustomAttribute<CmdletAttribute>()))
            .Where(c => c.Attribute is not null && !c.Type.IsAbstract)
            .Select(c => ($"{c.Attribute!.VerbName}-{c.Attribute.NounName}", c.Type))
            .OrderBy(c => c.Item1, StringComparer.Ordinal)
            .ToList();

    public static void Write(string path)
    {
        var document = new XDocument(new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
            new XAttribute(XNamespace.Xmlns + "maml", Maml), new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            Cmdlets(typeof(MamlWriter).Assembly).Select(c => CommandElement(c.Name, c.Type))));
        var temp = path + ".tmp";
        document.Save(temp);
        File.Move(temp, path, overwrite: true);
    }

    private static XElement CommandElement(string name, Type type)
    {
        var help = type.GetCustomAttribute<CmdletHelpAttribute>()
                   ?? throw new InvalidOperationException($"{type.Name} has no [CmdletHelp].");
        var examples = type.GetCustomAttributes<HelpExampleAttribute>().ToList();
        if (examples.Count < 2)
        {
            throw new InvalidOperationException($"{name} needs at least two [HelpExample]s.");
        }

        var parameters = type.GetProperties()
            .Select(p => (Property: p, Attributes: p.GetCustomAttributes<ParameterAttribute>().ToList()))
            .Where(p => p.Attributes.Count > 0)
            .ToList();
        foreach (var (property, attributes) in parameters)
        {
            if (attributes.All(a => string.IsNullOrWhiteSpace(a.HelpMessage)))
            {
                throw new InvalidOperationException($"{name} -{property.Name} has no HelpMessage.");
            }
        }

        var verbNoun = name.Split('-');
        return new XElement(Command + "command",
            new XElement(Command + "details",
                new XElement(Command + "name", name),
                new XElement(Maml + "description", Para(help.Synopsis)),
                new XElement(Command + "verb", verbNoun[0]),
                new XElement(Command + "noun", verbNoun[1])),
            new XElement(Maml + "description", help.Description.Split("\n\n").Select(Para)),
            new XElement(Command + "syntax", new XElement(Command + "syntaxItem", new XElement(Maml + "name", name),
                parameters.Select(p => ParameterElement(p.Property, p.Attributes)))),
            new XElement(Command + "parameters", parameters.Select(p => ParameterElement(p.Property, p.Attributes))),
            new XElement(Command + "examples", examples.Select((e, i) => new XElement(Command + "example",
                new XElement(Maml + "title", $"-------------------------- Example {i + 1} --------------------------"),
                new XElement(Dev + "code", e.Code),
                new XElement(Dev + "remarks", Para(e.Remarks))))));
    }

    private static XElement ParameterElement(PropertyInfo property, List<ParameterAttribute> attributes)
    {
        var first = attributes[0];
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        var typeName = type == typeof(SwitchParameter) ? "SwitchParameter" : type.Name;
        return new XElement(Command + "parameter",
            new XAttribute("required", attributes.Any(a => a.Mandatory) ? "true" : "false"),
            new XAttribute("globbing", "false"),
            new XAttribute("pipelineInput", attributes.Any(a => a.ValueFromPipelineByPropertyName) ? "True (ByPropertyName)"
                : attributes.Any(a => a.ValueFromPipeline) ? "True (ByValue)" : "False"),
            new XAttribute("position", first.Position >= 0 ? first.Position.ToString(System.Globalization.CultureInfo.InvariantCulture) : "named"),
            new XElement(Maml + "name", property.Name),
            new XElement(Maml + "description", Para(attributes.Select(a => a.HelpMessage).First(m => !string.IsNullOrWhiteSpace(m)))),
            new XElement(Command + "parameterValue", new XAttribute("required", type == typeof(SwitchParameter) ? "false" : "true"), typeName),
            new XElement(Dev + "type", new XElement(Maml + "name", type.FullName)));
    }

    private static XElement Para(string text) => new(Maml + "para", text);
}
