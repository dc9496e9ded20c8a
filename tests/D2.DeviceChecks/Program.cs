using D2.DeviceChecks;

// `D2.DeviceChecks nccl|torch`: one PASS/FAIL line per check; the exit code is the number of failed checks.
var report = new CheckReport();
switch (args.FirstOrDefault())
{
    case "nccl":
        NcclChecks.Run(report);
        break;
    case "torch":
        TorchCudaChecks.Run(report);
        break;
    default:
        Console.Error.WriteLine("usage: D2.DeviceChecks nccl|torch");
        return 2;
}
Console.WriteLine(report.Failures == 0 ? $"all {args[0]} checks passed" : $"{report.Failures} {args[0]} check(s) failed");
return report.Failures;
