using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace D2.Operations.Steps;

/// <summary>
/// A training profile's <c>channels</c> as written in the file: one object whose values are either a location (an
/// s3:// prefix, file:// locally) or a file system (<see cref="FileSystemChannel"/>, an object).
/// </summary>
[JsonConverter(typeof(Converter))]
internal sealed record TrainingChannels(IReadOnlyDictionary<string, string> Locations, IReadOnlyDictionary<string, FileSystemChannel> FileSystems)
{
    private sealed class Converter : JsonConverter<TrainingChannels>
    {
        public override TrainingChannels Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw ProfileFieldError.Wrong("", $"must be an object, not {ProfileValueConverters.Describe(ref reader)}.");
            }

            var channels = JsonNode.Parse(ref reader)!.AsObject();

            var locations = new Dictionary<string, string>(StringComparer.Ordinal);
            var fileSystems = new Dictionary<string, FileSystemChannel>(StringComparer.Ordinal);
            foreach (var (name, value) in channels)
            {
                switch (value)
                {
                    case JsonValue text when text.GetValueKind() == JsonValueKind.String:
                        locations[name] = (string)text!;
                        break;
                    case JsonObject fileSystem:
                        try
                        {
                            fileSystems[name] = ProfileJson.Bind<FileSystemChannel>(fileSystem);
                        }
                        catch (ProfileFieldError e)
                        {
                            throw e.Under(name);
                        }

                        break;
                    default:
                        throw ProfileFieldError.Wrong(name,
                            "must be an s3:// URI (file:// locally) or a file system {\"fileSystemId\", \"fileSystemType\", \"directoryPath\", \"fileSystemAccessMode\"}.");
                }
            }

            return new TrainingChannels(locations, fileSystems);
        }

        public override void Write(Utf8JsonWriter writer, TrainingChannels value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            foreach (var (name, location) in value.Locations)
            {
                writer.WriteString(name, location);
            }

            foreach (var (name, fileSystem) in value.FileSystems)
            {
                writer.WritePropertyName(name);
                JsonSerializer.Serialize(writer, fileSystem, options);
            }

            writer.WriteEndObject();
        }
    }
}
