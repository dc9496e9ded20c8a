using BenchmarkDotNet.Running;
using D2.Benchmarks;

// `dotnet run -c Release --project tests/D2.Benchmarks -- --filter '*Nms*'`; with no filter every benchmark runs.
var arguments = args.Length == 0 ? ["--filter", "*"] : args;
BenchmarkSwitcher.FromAssembly(typeof(ShortJobConfig).Assembly).Run(arguments, new ShortJobConfig());
