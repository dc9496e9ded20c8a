using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace D2.Benchmarks.Peer;

/// <summary>
/// torchvision's Mask R-CNN R50-FPN in a long-lived Python process (peer/torchvision_peer.py, Debian's python3-torch 1.13 and
/// python3-torchvision 0.14 with pthread OpenBLAS), driven one JSON line per request so its runs can alternate with ours.
/// </summary>
internal sealed class TorchvisionPeer : IDisposable
{
    const string Python = "/usr/bin/python3";
    // Debian's torch links libblas.so.3; the pthread OpenBLAS build honours torch.set_num_threads like libtorch's own pool.
    const string OpenBlasPthread = "/usr/lib/x86_64-linux-gnu/openblas-pthread";
    static readonly string[] Packages = ["python3-torch", "python3-torchvision", "libopenblas0-pthread"];

    readonly Process _process;

    TorchvisionPeer(Process process) => _process = process;

    /// <summary>Makes sure the peer's packages are importable: installs them with apt-get when missing and running as root.</summary>
    /// <returns>null when ready, else why the peer cannot run here (the caller prints it and skips)</returns>
    public static string? EnsureInstalled(TextWriter log)
    {
        if (Importable())
            return null;
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/apt-get"))
            return "the torchvision peer needs Debian's python3-torch and python3-torchvision (apt-get), which this machine does not have.";
        if (Environment.UserName != "root")
            return $"the torchvision peer needs Debian's {string.Join(", ", Packages)}; they are not installed and installing them needs root: " +
                   $"run `sudo apt-get install -y {string.Join(' ', Packages)}` and try again.";
        log.WriteLine($"Installing the peer: apt-get install -y {string.Join(' ', Packages)} ...");
        // A fresh machine may have no package lists yet: update once when the first try fails.
        if (AptGet(["install", "-y", "--no-install-recommends", .. Packages]) != 0 && (AptGet(["update"]) != 0 || AptGet(["install", "-y", "--no-install-recommends", .. Packages]) != 0))
            return "apt-get could not install the torchvision peer's packages (see its output above).";
        return Importable() ? null : "python3-torch and python3-torchvision are installed, but `import torch, torchvision` still fails (see above).";
    }

    static bool Importable()
    {
        if (!File.Exists(Python))
            return false;
        var info = Start(["-c", "import torch, torchvision"]);
        info.RedirectStandardError = true;
        using var probe = Process.Start(info)!;
        var error = probe.StandardError.ReadToEnd();
        probe.WaitForExit();
        if (probe.ExitCode != 0 && error.Length > 0 && !error.Contains("ModuleNotFoundError", StringComparison.Ordinal))
            Console.Error.Write(error);
        return probe.ExitCode == 0;
    }

    static int AptGet(string[] arguments)
    {
        var info = new ProcessStartInfo("apt-get") { UseShellExecute = false };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var apt = Process.Start(info)!;
        apt.WaitForExit();
        return apt.ExitCode;
    }

    static ProcessStartInfo Start(IEnumerable<string> arguments, int threads = 2)
    {
        var info = new ProcessStartInfo(Python) { UseShellExecute = false };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        if (Directory.Exists(OpenBlasPthread))
            info.Environment["LD_LIBRARY_PATH"] = OpenBlasPthread;
        info.Environment["OMP_NUM_THREADS"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["OPENBLAS_NUM_THREADS"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return info;
    }

    /// <summary>Starts the peer script (copied next to this program) and builds its model.</summary>
    public static TorchvisionPeer Launch(int threads, int seed, string imagePath, int height, int width, double learningRate)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "peer", "torchvision_peer.py");
        if (!File.Exists(script))
            throw new FileNotFoundException("The peer script was not copied next to the benchmark program.", script);
        var info = Start(["-u", script], threads);
        info.RedirectStandardInput = true;
        info.RedirectStandardOutput = true;
        var peer = new TorchvisionPeer(Process.Start(info)!);
        peer.Setup = peer.Send(new JsonObject
        {
            ["cmd"] = "setup", ["threads"] = threads, ["seed"] = seed, ["image"] = imagePath, ["height"] = height, ["width"] = width,
            ["lr"] = learningRate,
        });
        return peer;
    }

    /// <summary>The setup reply: torch and torchvision versions, threads, trainable parameter count.</summary>
    public JsonObject Setup { get; private set; } = [];

    /// <summary>One request and its reply; a peer that dies or answers with an error throws, naming what it said.</summary>
    public JsonObject Send(JsonObject request)
    {
        if (_process.HasExited)
            throw new InvalidOperationException($"The torchvision peer exited (code {_process.ExitCode}); its error output is above.");
        _process.StandardInput.WriteLine(request.ToJsonString());
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLine()
            ?? throw new InvalidOperationException($"The torchvision peer closed its output during '{request["cmd"]}' (its error output is above).");
        var reply = JsonNode.Parse(line) as JsonObject ?? throw new InvalidOperationException($"The torchvision peer answered '{line}'.");
        if (reply["ok"]?.GetValue<bool>() != true)
            throw new InvalidOperationException($"The torchvision peer failed '{request["cmd"]}': {reply["error"]}");
        return reply;
    }

    /// <summary>Stage seconds of a reply.</summary>
    public static Dictionary<string, double> Stages(JsonObject reply) =>
        reply["stages"] is JsonObject stages ? stages.ToDictionary(p => p.Key, p => p.Value!.GetValue<double>()) : [];

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine(JsonSerializer.Serialize(new { cmd = "quit" }));
                _process.StandardInput.Flush();
                if (!_process.WaitForExit(10_000))
                    _process.Kill();
            }
        }
        catch (IOException)
        {
            // The peer is already gone.
        }
        _process.Dispose();
    }
}
