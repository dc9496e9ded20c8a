using System.Text.Json;

namespace D2.Operations.Steps;

/// <summary>
/// A wrong field met while reading a profile, named from the object being read down (<see cref="Field"/>); the reader
/// prefixes the path of that object on the way out and renders the message with the profile's name. A
/// <see cref="JsonException"/>, so the serializer lets it pass out of a converter.
/// </summary>
internal sealed class ProfileFieldError : JsonException
{
    private readonly Func<string, string, string> _render;

    private ProfileFieldError(string field, Func<string, string, string> render)
        : base(render("profile", field))
    {
        Field = field;
        _render = render;
    }

    public string Field { get; }

    /// <summary>The message for a field whose value is wrong: <c>{source}: '{field}' {detail}</c>.</summary>
    public static ProfileFieldError Wrong(string field, string detail) => new(field, (source, f) => $"{source}: '{f}' {detail}");

    public static ProfileFieldError Twice(string field) =>
        new(field, (source, f) => $"{source}: field '{f}' is given twice (field names ignore case).");

    /// <param name="at">the object the field was met in (empty at the top)</param>
    public static ProfileFieldError Unknown(string at, string name, string knownFields) =>
        new(Join(at, name), (source, f) =>
        {
            var parent = f[..^name.Length].TrimEnd('.');
            return $"{source}: unknown field '{f}'; known fields{(parent.Length > 0 ? $" of '{parent}'" : "")}: {knownFields}.";
        });

    /// <summary>The same error one level out: <paramref name="parent"/> is the field holding the object it was met in.</summary>
    public ProfileFieldError Under(string parent) => new(Join(parent, Field), _render);

    public string Render(string source) => _render(source, Field);

    /// <summary><c>a</c> + <c>b</c> is <c>a.b</c>; an index (<c>[0]</c>) follows without a dot.</summary>
    public static string Join(string parent, string child) =>
        parent.Length == 0 ? child : child.Length == 0 ? parent : child.StartsWith('[') ? parent + child : $"{parent}.{child}";
}
