using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace D2.Operations.Local;

/// <summary>
/// The List* conventions SageMaker shares: NameContains, StatusEquals, Creation/LastModifiedTime After/Before
/// filters, SortBy Name|CreationTime|Status with SortOrder, MaxResults (default 10) and an opaque NextToken.
/// </summary>
internal static class ListQuery
{
    private const string TokenPrefix = "local-sagemaker:";

    /// <summary>The List* response: the page under <paramref name="listMember"/>, and NextToken when more remain.</summary>
    public static JsonObject Response(string listMember, IEnumerable<JsonObject> summaries, JsonObject request,
        string nameMember, string statusMember, bool defaultDescending)
    {
        var (page, next) = Apply(summaries, request, nameMember, statusMember, defaultDescending);
        var response = new JsonObject { [listMember] = page };
        if (next is not null)
            response["NextToken"] = next;
        return response;
    }

    public static (JsonArray Page, string? NextToken) Apply(IEnumerable<JsonObject> summaries, JsonObject request,
        string nameMember, string statusMember, bool defaultDescending)
    {
        var items = summaries.ToList();
        var nameContains = (string?)request["NameContains"];
        if (!string.IsNullOrEmpty(nameContains))
            items = [.. items.Where(s => ((string)s[nameMember]!).Contains(nameContains, StringComparison.OrdinalIgnoreCase))];
        if ((string?)request["StatusEquals"] is { } status)
            items = [.. items.Where(s => (string?)s[statusMember] == status)];
        items = [.. items.Where(s => InRange(s, request, "CreationTime") && InRange(s, request, "LastModifiedTime"))];

        var sortBy = (string?)request["SortBy"] ?? "CreationTime";
        var descending = (string?)request["SortOrder"] is { } order ? order == "Descending" : defaultDescending;
        Func<JsonObject, IComparable> key = sortBy switch
        {
            "Name" => s => ((string)s[nameMember]!).ToLowerInvariant(),
            "Status" => s => (string?)s[statusMember] ?? "",
            _ => s => EpochTime.Read(s["CreationTime"]) ?? DateTimeOffset.MinValue,
        };
        // Ties (same second, same status) fall back to the name so pages are stable between calls.
        var sorted = descending
            ? items.OrderByDescending(key).ThenByDescending(s => (string)s[nameMember]!, StringComparer.Ordinal)
            : items.OrderBy(key).ThenBy(s => (string)s[nameMember]!, StringComparer.Ordinal);

        var offset = ReadToken((string?)request["NextToken"]);
        var max = (int?)request["MaxResults"] ?? 10;
        var all = sorted.ToList();
        var page = new JsonArray([.. all.Skip(offset).Take(max)]);
        var next = offset + max < all.Count ? WriteToken(offset + max) : null;
        return (page, next);
    }

    private static bool InRange(JsonObject summary, JsonObject request, string member)
    {
        var value = EpochTime.Read(summary[member]);
        if (value is null)
            return true;
        var after = EpochTime.Read(request[member + "After"]);
        var before = EpochTime.Read(request[member + "Before"]);
        return (after is null || value > after) && (before is null || value < before);
    }

    private static string WriteToken(int offset) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(TokenPrefix + offset.ToString(CultureInfo.InvariantCulture)));

    private static int ReadToken(string? token)
    {
        if (string.IsNullOrEmpty(token))
            return 0;
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            if (text.StartsWith(TokenPrefix, StringComparison.Ordinal)
                && int.TryParse(text[TokenPrefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                return offset;
        }
        catch (FormatException)
        {
        }
        throw LocalApiException.Validation("Invalid pagination token because the token is malformed.");
    }
}
