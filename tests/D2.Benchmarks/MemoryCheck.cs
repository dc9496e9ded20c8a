using System.Diagnostics;
using D2.Detection.Config;
using D2.Detection.Modeling;
using static TorchSharp.torch;

namespace D2.Benchmarks;

/// <summary>
/// `memory`: 200 training iterations (forward, backward, SGD step) of the small CPU config, printing the process's resident
/// memory; the baseline is the memory after the first 20 iterations (allocator warm-up). Fails when the last 100
/// iterations still grow by more than 5%: a leak of native tensors shows up there.
/// </summary>
internal static class MemoryCheck
{
    public static int Run(int iterations = 200)
    {
        manual_seed(2);
        using var model = ModelBuilder.Build(ModelZoo.GetConfig("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml", ["MODEL.ROI_HEADS.NUM_CLASSES", "3"]));
        model.train();
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = optim.SGD(parameters, 0.01, momentum: 0.9);
        var batch = Enumerable.Range(0, 2).Select(i => SyntheticInputs.Image(240, 320, seed: i)).ToArray();
        var samples = new SortedDictionary<int, long>();
        var watch = Stopwatch.StartNew();
        for (var iteration = 1; iteration <= iterations; iteration++)
        {
            using (var scope = NewDisposeScope())
            {
                optimizer.zero_grad();
                var total = model.ForwardTraining(batch).Values.Aggregate((a, b) => a + b);
                total.backward();
                // As the config's SOLVER.CLIP_GRADIENTS: random-noise images diverge without it.
                nn.utils.clip_grad_norm_(parameters, 10.0);
                optimizer.step();
            }
            if (iteration % 20 == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                using var process = Process.GetCurrentProcess();
                samples[iteration] = process.WorkingSet64;
                Console.WriteLine($"iteration {iteration,4}: resident {process.WorkingSet64 / 1048576.0,8:F1} MiB, {watch.Elapsed.TotalSeconds / iteration:F3} s/iteration");
            }
        }
        var middle = samples[iterations / 2];
        var last = samples[iterations];
        var growth = (last - middle) / (double)middle;
        Console.WriteLine($"baseline (iteration 20) {samples[20] / 1048576.0:F1} MiB; iteration {iterations / 2} -> {iterations}: {growth:+0.0%;-0.0%}");
        return growth > 0.05 ? 1 : 0;
    }
}
