using System.CommandLine;
using System.Globalization;
using D2.Detection.Data.Synthetic;

namespace D2.Trainer.Commands;

/// <summary>`d2 synth-balloons`: writes the deterministic synthetic balloon dataset (train/ and val/, VIA and COCO json).</summary>
internal static class SynthBalloonsCommand
{
    /// <summary>Exit code for unusable arguments (a bad --size, a negative count).</summary>
    public const int BadInput = 2;

    public static Command Create()
    {
        // Checked in the action rather than marked Required, so that a missing folder is bad input (exit 2) like the rest.
        var output = new Option<string>("--out") { Description = "Required: folder to write train/ and val/ into (the layout of datasets/balloon)." };
        var train = new Option<int>("--train") { Description = "Number of training images.", DefaultValueFactory = _ => 200 };
        var val = new Option<int>("--val") { Description = "Number of validation images.", DefaultValueFactory = _ => 50 };
        var seed = new Option<long>("--seed") { Description = "Random seed; the same seed gives byte-identical files.", DefaultValueFactory = _ => 0 };
        var size = new Option<string>("--size") { Description = "Image size WIDTHxHEIGHT.", DefaultValueFactory = _ => "320x240" };
        var command = new Command("synth-balloons", "Generate a synthetic balloon dataset (coloured balloons with highlights and strings, border cuts, overlaps, distractor rectangles) "
            + "with via_region_data.json, as the balloon tutorial reads, and a COCO annotations.json per split.")
        {
            output, train, val, seed, size,
        };
        command.SetAction(parse => Run(parse.GetValue(output), parse.GetValue(train), parse.GetValue(val), parse.GetValue(seed), parse.GetValue(size)!));
        return command;
    }

    static int Run(string? output, int train, int val, long seed, string size)
    {
        if (string.IsNullOrWhiteSpace(output))
        {
            Console.Error.WriteLine("error: --out is required: the folder to write train/ and val/ into.");
            return BadInput;
        }
        if (!TryParseSize(size, out var width, out var height))
        {
            Console.Error.WriteLine($"error: --size '{size}' is not WIDTHxHEIGHT with both at least {SyntheticBalloons.MinSide} (e.g. 320x240).");
            return BadInput;
        }
        if (train < 0 || val < 0)
        {
            Console.Error.WriteLine($"error: --train and --val must not be negative (got {train} and {val}).");
            return BadInput;
        }
        var started = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyList<SyntheticSplit> splits;
        try
        {
            splits = SyntheticBalloons.Generate(output, train, val, seed, width, height);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: cannot write to {output}: {e.Message}");
            return BadInput;
        }
        foreach (var split in splits)
            Console.WriteLine($"{split.Name,-6}{split.Images,5} images {split.Instances,6} balloons  {split.Folder}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {seed}, {width}x{height}, {started.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }

    static bool TryParseSize(string text, out int width, out int height)
    {
        width = height = 0;
        var parts = text.Split('x', 'X');
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out width)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out height)
            && width >= SyntheticBalloons.MinSide && height >= SyntheticBalloons.MinSide;
    }
}
