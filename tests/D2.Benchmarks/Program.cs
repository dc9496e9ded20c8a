using BenchmarkDotNet.Running;
using D2.Benchmarks;

// `dotnet run -c Release --project tests/D2.Benchmarks -- --filter '*Nms*'`; with no filter every benchmark runs.
// `... -- memory` runs the native-memory check of a training loop instead; `... -- trainloop` times the real training loop;
// `... -- allreduce` times the gradient all-reduce of 2 CPU workers (Gloo).
if (args is ["memory", ..])
    return MemoryCheck.Run();
if (args is ["trainloop", ..])
    return TrainLoopCheck.Run();
if (args is ["allreduce", ..])
    return AllReduceCheck.Run();
var arguments = args.Length == 0 ? ["--filter", "*"] : args;
BenchmarkSwitcher.FromAssembly(typeof(ShortJobConfig).Assembly).Run(arguments, new ShortJobConfig());
return 0;
