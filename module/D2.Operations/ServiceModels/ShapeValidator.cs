using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace D2.Operations.ServiceModels;

/// <summary>
/// Checks a JSON request against the input shape of an operation with the constraints AWS enforces server side
/// (required, unknown members, types, min/max, pattern, enum), so bad requests fail before they are sent (client)
/// or with AWS's own ValidationException wording (local SageMaker).
/// </summary>
public static class ShapeValidator
{
    /// <summary>Validates <paramref name="input"/> (the request body; null means <c>{}</c>) against the operation's input shape.</summary>
    public static IReadOnlyList<ShapeViolation> Validate(ServiceModel model, string operationName, JsonNode? input)
    {
        ArgumentNullException.ThrowIfNull(model);
        var op = model.GetOperation(operationName);
        if (op.InputShape is null)
        {
            return input is null or JsonObject { Count: 0 }
                ? []
                : [new ShapeViolation("", $"Operation {operationName} takes no input") { Value = Render(input, false) }];
        }

        return ValidateShape(model, op.InputShape, input ?? new JsonObject());
    }

    /// <summary>Validates any value against a named shape; paths start at <paramref name="path"/> (empty for a request root).</summary>
    public static IReadOnlyList<ShapeViolation> ValidateShape(ServiceModel model, string shapeName, JsonNode? value, string path = "")
    {
        ArgumentNullException.ThrowIfNull(model);
        var violations = new List<ShapeViolation>();
        if (value is null)
        {
            violations.Add(new ShapeViolation(path, "Member must not be null"));
        }
        else
        {
            Check(model, model.GetShape(shapeName), value, path, violations);
        }

        return violations;
    }

    /// <summary>
    /// The message AWS puts in a ValidationException: <c>N validation error(s) detected: </c> followed by each
    /// violation, separated by <c>"; "</c>.
    /// </summary>
    public static string FormatMessage(IReadOnlyList<ShapeViolation> violations)
    {
        ArgumentNullException.ThrowIfNull(violations);
        var count = violations.Count;
        return $"{count} validation error{(count == 1 ? "" : "s")} detected: " + string.Join("; ", violations);
    }

    private static void Check(ServiceModel model, Shape shape, JsonNode node, string path, List<ShapeViolation> violations)
    {
        switch (shape.Type)
        {
            case ShapeType.Structure:
                CheckStructure(model, shape, node, path, violations);
                break;
            case ShapeType.List:
                CheckList(model, shape, node, path, violations);
                break;
            case ShapeType.Map:
                CheckMap(model, shape, node, path, violations);
                break;
            case ShapeType.String:
                CheckString(shape, node, path, violations);
                break;
            case ShapeType.Integer or ShapeType.Long or ShapeType.Float or ShapeType.Double:
                CheckNumber(shape, node, path, violations);
                break;
            case ShapeType.Boolean:
                if (node.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                {
                    violations.Add(TypeViolation(node, path, "a boolean", shape));
                }

                break;
            case ShapeType.Timestamp:
                if (node.GetValueKind() != JsonValueKind.Number)
                {
                    violations.Add(TypeViolation(node, path, "a timestamp in epoch seconds", shape));
                }

                break;
            case ShapeType.Blob:
                CheckBlob(shape, node, path, violations);
                break;
        }
    }

    private static void CheckStructure(ServiceModel model, Shape shape, JsonNode node, string path, List<ShapeViolation> violations)
    {
        if (node is not JsonObject obj)
        {
            violations.Add(TypeViolation(node, path, "a structure", shape));
            return;
        }

        foreach (var required in shape.Required)
        {
            if (obj[required] is null)
            {
                violations.Add(new ShapeViolation(Join(path, required), "Member must not be null"));
            }
        }

        foreach (var (name, child) in obj)
        {
            if (!shape.Members.TryGetValue(name, out var member))
            {
                violations.Add(new ShapeViolation(Join(path, name), $"Member is not defined in shape {shape.Name}")
                {
                    Value = child is null ? null : Render(child, false),
                });
                continue;
            }

            // Explicit null is an unset member; the required check above already covers it.
            if (child is not null)
            {
                Check(model, model.GetShape(member.ShapeName), child, Join(path, name), violations);
            }
        }
    }

    private static void CheckList(ServiceModel model, Shape shape, JsonNode node, string path, List<ShapeViolation> violations)
    {
        if (node is not JsonArray array)
        {
            violations.Add(TypeViolation(node, path, "a list", shape));
            return;
        }

        CheckSize(shape, array.Count, node, path, violations);
        var elementShape = model.GetShape(shape.MemberShape!);
        for (var i = 0; i < array.Count; i++)
        {
            var elementPath = $"{path}.{i + 1}.member";
            if (array[i] is { } element)
            {
                Check(model, elementShape, element, elementPath, violations);
            }
            else
            {
                violations.Add(new ShapeViolation(elementPath, "Member must not be null"));
            }
        }
    }

    private static void CheckMap(ServiceModel model, Shape shape, JsonNode node, string path, List<ShapeViolation> violations)
    {
        if (node is not JsonObject map)
        {
            violations.Add(TypeViolation(node, path, "a map", shape));
            return;
        }

        CheckSize(shape, map.Count, node, path, violations);
        var keyShape = model.GetShape(shape.KeyShape!);
        var valueShape = model.GetShape(shape.ValueShape!);
        foreach (var (key, value) in map)
        {
            // AWS reports entry problems at the map's path, wrapped as "Map keys/value must satisfy constraint: [...]".
            var keyViolations = new List<ShapeViolation>();
            Check(model, keyShape, JsonValue.Create(key), path, keyViolations);
            foreach (var v in keyViolations)
            {
                violations.Add(v with { Message = $"Map keys must satisfy constraint: [{v.Message}]" });
            }

            var valueViolations = new List<ShapeViolation>();
            if (value is null)
            {
                valueViolations.Add(new ShapeViolation(path, "Member must not be null"));
            }
            else
            {
                Check(model, valueShape, value, $"{path}.{key}", valueViolations);
            }

            foreach (var v in valueViolations)
            {
                violations.Add(v with { Message = $"Map value at key '{key}' must satisfy constraint: [{v.Message}]", MemberPath = path });
            }
        }
    }

    private static void CheckString(Shape shape, JsonNode node, string path, List<ShapeViolation> violations)
    {
        if (node.GetValueKind() != JsonValueKind.String)
        {
            violations.Add(TypeViolation(node, path, "a string", shape));
            return;
        }

        var text = node.GetValue<string>();
        CheckSize(shape, text.Length, node, path, violations);
        if (shape.Pattern is { } pattern && !JavaRegex.FullMatch(pattern, text))
        {
            violations.Add(Violation(shape, node, path, $"Member must satisfy regular expression pattern: {pattern}"));
        }

        if (shape.Enum is { } values && !values.Contains(text, StringComparer.Ordinal))
        {
            violations.Add(Violation(shape, node, path, $"Member must satisfy enum value set: [{string.Join(", ", values)}]"));
        }
    }

    private static void CheckNumber(Shape shape, JsonNode node, string path, List<ShapeViolation> violations)
    {
        if (node.GetValueKind() != JsonValueKind.Number)
        {
            violations.Add(TypeViolation(node, path, "a number", shape));
            return;
        }

        var text = node.ToJsonString();
        var value = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (shape.Type is ShapeType.Integer or ShapeType.Long)
        {
            var integral = decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var exact)
                && exact == decimal.Truncate(exact);
            var inRange = shape.Type == ShapeType.Integer
                ? integral && exact is >= int.MinValue and <= int.MaxValue
                : integral && exact is >= long.MinValue and <= long.MaxValue;
            if (!inRange)
            {
                violations.Add(TypeViolation(node, path, shape.Type == ShapeType.Integer ? "an integer" : "a long", shape));
                return;
            }
        }

        if (shape.Min is { } min && value < min)
        {
            violations.Add(Violation(shape, node, path, $"Member must have value greater than or equal to {Number(min)}"));
        }

        if (shape.Max is { } max && value > max)
        {
            violations.Add(Violation(shape, node, path, $"Member must have value less than or equal to {Number(max)}"));
        }
    }

    private static void CheckBlob(Shape shape, JsonNode node, string path, List<ShapeViolation> violations)
    {
        // The client may hand raw bytes (JsonValue over byte[]) to avoid base64-encoding large payloads; the wire form is base64.
        int length;
        if (node is JsonValue v && v.TryGetValue<byte[]>(out var bytes))
        {
            length = bytes.Length;
        }
        else if (node is JsonValue m && m.TryGetValue<ReadOnlyMemory<byte>>(out var memory))
        {
            length = memory.Length;
        }
        else if (node.GetValueKind() == JsonValueKind.String)
        {
            var text = node.GetValue<string>();
            var buffer = new byte[(text.Length * 3 / 4) + 3];
            if (!Convert.TryFromBase64String(text, buffer, out length))
            {
                violations.Add(new ShapeViolation(path, "Member must be base64-encoded binary data") { Value = Render(node, shape.Sensitive) });
                return;
            }
        }
        else
        {
            violations.Add(TypeViolation(node, path, "base64-encoded binary data", shape));
            return;
        }

        CheckSize(shape, length, node, path, violations);
    }

    private static void CheckSize(Shape shape, int length, JsonNode node, string path, List<ShapeViolation> violations)
    {
        if (shape.Min is { } min && length < min)
        {
            violations.Add(Violation(shape, node, path, $"Member must have length greater than or equal to {Number(min)}"));
        }

        if (shape.Max is { } max && length > max)
        {
            violations.Add(Violation(shape, node, path, $"Member must have length less than or equal to {Number(max)}"));
        }
    }

    private static ShapeViolation Violation(Shape shape, JsonNode node, string path, string message) =>
        new(path, message) { Value = Render(node, shape.Sensitive) };

    private static ShapeViolation TypeViolation(JsonNode node, string path, string expected, Shape shape) =>
        new(path, $"Member must be {expected}") { Value = Render(node, shape.Sensitive) };

    /// <summary>camelCase member path as AWS prints it (the first letter of each member lower-cased).</summary>
    private static string Join(string path, string member)
    {
        var camel = member.Length > 0 && char.IsUpper(member[0])
            ? char.ToLowerInvariant(member[0]) + member[1..]
            : member;
        return path.Length == 0 ? camel : path + "." + camel;
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Renders a value the way AWS's Java services print it: strings raw, lists <c>[a, b]</c>, maps <c>{k=v}</c>.</summary>
    private static string Render(JsonNode node, bool sensitive)
    {
        if (sensitive)
        {
            return "***";
        }

        switch (node)
        {
            case JsonArray array:
                return "[" + string.Join(", ", array.Select(e => e is null ? "null" : Render(e, false))) + "]";
            case JsonObject obj:
            {
                var sb = new StringBuilder("{");
                foreach (var (key, value) in obj)
                {
                    if (sb.Length > 1)
                    {
                        sb.Append(", ");
                    }

                    sb.Append(key).Append('=').Append(value is null ? "null" : Render(value, false));
                }

                return sb.Append('}').ToString();
            }
            default:
                if (node is JsonValue bytes && bytes.TryGetValue<byte[]>(out var raw) && node.GetValueKind() == JsonValueKind.String
                    && !bytes.TryGetValue<string>(out _))
                {
                    return $"<{raw.Length} bytes>";
                }

                return node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString();
        }
    }
}
