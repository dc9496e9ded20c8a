using System.CommandLine;
using System.Text.Json;
using D2.Detection.Config;
using D2.Detection.Modeling;

namespace D2.Trainer.Commands;

/// <summary>`d2 model-info`: parameter counts and the state dict (names and shapes, in Detectron2's order) of a config's model.</summary>
internal static class ModelInfoCommand
{
    public static Command Create()
    {
        var configFile = new Option<string>("--config-file") { Description = "A model-zoo name (COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml) or a YAML path.", Required = true };
        var opts = new Option<string[]>("--opts") { Description = "Config overrides as KEY VALUE pairs, e.g. MODEL.ROI_HEADS.NUM_CLASSES 1.", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: {\"parameters\", \"trainable\", \"state_dict\": [[name, [dims]], ...]}." };
        var command = new Command("model-info", "Build the model a config describes and report its parameters and state-dict names and shapes.") { configFile, opts, json };
        command.SetAction(parse =>
        {
            CfgNode cfg;
            try
            {
                cfg = ModelZoo.GetConfig(parse.GetValue(configFile)!, parse.GetValue(opts) ?? []);
            }
            catch (Exception e) when (e is ConfigException or IOException or ArgumentException)
            {
                Console.Error.WriteLine($"d2 model-info: {e.Message}");
                return 2;
            }
            using var model = ModelBuilder.Build(cfg);
            var parameters = model.parameters().ToList();
            var total = parameters.Sum(p => p.numel());
            var trainable = parameters.Where(p => p.requires_grad).Sum(p => p.numel());
            var stateDict = model.state_dict().Select(kv => (kv.Key, kv.Value.shape)).ToList();
            if (parse.GetValue(json))
            {
                using var stdout = Console.OpenStandardOutput();
                using var writer = new Utf8JsonWriter(stdout);
                writer.WriteStartObject();
                writer.WriteNumber("parameters", total);
                writer.WriteNumber("trainable", trainable);
                writer.WriteStartArray("state_dict");
                foreach (var (name, shape) in stateDict)
                {
                    writer.WriteStartArray();
                    writer.WriteStringValue(name);
                    writer.WriteStartArray();
                    foreach (var dim in shape)
                        writer.WriteNumberValue(dim);
                    writer.WriteEndArray();
                    writer.WriteEndArray();
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
                writer.Flush();
                stdout.WriteByte((byte)'\n');
                return 0;
            }
            Console.WriteLine($"parameters  {total:N0}");
            Console.WriteLine($"trainable   {trainable:N0}");
            Console.WriteLine($"state dict  {stateDict.Count} tensors");
            foreach (var group in stateDict.GroupBy(s => string.Join('.', s.Key.Split('.').Take(2))))
                Console.WriteLine($"  {group.Key,-40}{group.Count(),5} tensors {group.Sum(s => s.shape.Aggregate(1L, (a, b) => a * b)),14:N0} values");
            return 0;
        });
        return command;
    }
}
