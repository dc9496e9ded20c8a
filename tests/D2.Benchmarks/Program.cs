using BenchmarkDotNet.Running;
using D2.Benchmarks;

// `dotnet run -c Release --project tests/D2.Benchmarks -- --filter '*NMS*'`; with no filter every benchmark runs.
// `... -- memory` runs the native-memory check of a training loop instead; `... -- trainloop` times the real training loop;
// `... -- allreduce` times the gradient all-reduce of 2 CPU workers (Gloo).
// `... -- serving` compares D2.Serving with the bare Predictor (latency, throughput with batching off and on) and a bare
// ASP.NET Core app (`serving-peer PORT BYTES GAP_MS`, its child process) for the HTTP floor.
// `... -- batching [THREADS]` splits a batched forward pass of 8 images against 8 single ones by model stage (page faults too).
// `... -- peer torchvision` runs torchvision's Mask R-CNN (Debian's python3-torch) and ours alternately: ratios, memory, stages.
// `... -- coco-scale` loads an instances_train2017-sized json and times the data loader at COCO sizes
// (`coco-scale-load MODE JSON ROOT` is its child process: one load, one process; `coco-scale-write PATH` writes the json alone).
// `... -- roialign-peak` times ROIAlign's two paths and reports their peak resident memory (native, unlike BenchmarkDotNet's).
// libtorch's C++ warnings (one NNPACK line per mask-head conv on these CPUs) follow TORCH_CPP_LOG_LEVEL, as in d2 and the server.
D2.Detection.TorchLogging.Initialize();
if (args is ["memory", ..])
    return MemoryCheck.Run();
if (args is ["trainloop", ..])
    return TrainLoopCheck.Run();
if (args is ["allreduce", ..])
    return AllReduceCheck.Run();
if (args is ["serving", ..])
    return ServingCheck.Run();
if (args is ["serving-peer", _, _, _])
    return ServingTransportPeer.Run(args);
if (args is ["batching", ..])
    return BatchingCheck.Run(args);
if (args is ["peer", ..])
    return D2.Benchmarks.Peer.PeerCheck.Run(args);
if (args is ["coco-scale", ..])
    return CocoScaleCheck.Run();
if (args is ["coco-scale-load", var mode, var json, var imageRoot])
    return CocoScaleJson.RunChild(mode, json, imageRoot);
if (args is ["coco-scale-write", var path])
{
    CocoScaleJson.Write(path);
    return 0;
}
if (args is ["roialign-peak", ..])
    return ROIAlignPeakCheck.Run();
var arguments = args.Length == 0 ? ["--filter", "*"] : args;
BenchmarkSwitcher.FromAssembly(typeof(ShortJobConfig).Assembly).Run(arguments, new ShortJobConfig());
return 0;
