using System.CommandLine;
using D2.Detection;
using static TorchSharp.torch;

namespace D2.Trainer.Commands;

/// <summary>`d2 info`: proves the native Torch stack loads and runs here, and shows what it offers.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "MODEL.DEVICE to check (cpu, cuda, cuda:N).", DefaultValueFactory = _ => "cpu" };
        var command = new Command("info", "Show the Torch runtime (versions, devices, threads) and run a small computation on the chosen device.") { device };
        command.SetAction(parse =>
        {
            foreach (var (key, value) in TorchRuntime.Describe())
                Console.WriteLine($"{key,-18}{value}");
            var target = TorchRuntime.ResolveDevice(parse.GetValue(device)!);
            using var scope = NewDisposeScope();
            // 3x3 matmul with a known answer: row sums of [[0,1,2],[3,4,5],[6,7,8]] times ones.
            var sums = TorchScalars.Arange(9, float32, target).reshape(3, 3).matmul(ones(3, 1, float32, target)).cpu().data<float>().ToArray();
            Console.WriteLine($"{"check on " + target,-18}{string.Join(" ", sums)} (expected 3 12 21)");
            return sums.SequenceEqual([3f, 12f, 21f]) ? 0 : 1;
        });
        return command;
    }
}
