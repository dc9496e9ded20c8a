"""What NMSTensorOps assumes of libtorch's CUDA sort, checked with the GPU machine's PyTorch (same ATen sort kernels):
a stable descending sort of float64 scores puts NaN first and keeps ties in index order, exactly as on the CPU,
at sizes that take the small (bitonic/segmented) and the large (radix) CUDA paths."""
import math
import sys
import torch

failures = 0
gen = torch.Generator().manual_seed(7)
for n in (7, 100, 2048, 5000, 80000, 1 << 20):
    scores = torch.randint(0, max(2, n // 10), (n,), generator=gen).to(torch.float64) / 7.0   # many ties
    nan_at = torch.randperm(n, generator=gen)[: max(1, n // 50)]
    scores[nan_at] = float("nan")
    scores[torch.randperm(n, generator=gen)[:3]] = float("-inf")
    cpu = scores.sort(dim=0, descending=True, stable=True).indices
    gpu = scores.cuda().sort(dim=0, descending=True, stable=True).indices.cpu()
    # the reference order by hand: NaN first (in index order), then by score descending, ties by index
    values = scores.tolist()
    keys = sorted(range(n), key=lambda i: (0, 0.0, i) if math.isnan(values[i]) else (1, -values[i], i))
    ok = torch.equal(cpu, gpu) and cpu.tolist() == keys
    failures += not ok
    print(f"{'PASS' if ok else 'FAIL'}  stable descending sort, n={n}: cuda == cpu == (NaN first, ties by index) "
          f"[{int(torch.isnan(scores).sum())} NaN, {n - len(set(scores[~torch.isnan(scores)].tolist()))} ties]")
print("all sort checks passed" if failures == 0 else f"{failures} sort check(s) failed")
sys.exit(failures)
