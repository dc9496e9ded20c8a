namespace D2.DeviceChecks;

/// <summary>Prints one line per check and counts failures; a check that throws is a failure with its message.</summary>
internal sealed class CheckReport
{
    public int Failures { get; private set; }

    public void Add(string name, bool ok, string detail)
    {
        Console.WriteLine($"{(ok ? "PASS" : "FAIL")}  {name}: {detail}");
        if (!ok)
            Failures++;
    }

    public void Info(string name, string detail) => Console.WriteLine($"INFO  {name}: {detail}");

    /// <summary>Only checks whose name contains this run (D2_DEVICE_CHECKS_ONLY).</summary>
    public string? Filter { get; set; }

    public void Run(string name, Func<(bool Ok, string Detail)> check)
    {
        if (Filter is not null && !name.Contains(Filter, StringComparison.OrdinalIgnoreCase))
            return;
        try
        {
            var (ok, detail) = check();
            Add(name, ok, detail);
        }
        catch (Exception e)
        {
            Add(name, false, $"{e.GetType().Name}: {e.Message.Split('\n')[0]}");
            Console.WriteLine(e);
        }
    }
}
