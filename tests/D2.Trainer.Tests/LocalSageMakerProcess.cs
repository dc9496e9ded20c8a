using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace D2.Trainer.Tests;

/// <summary>
/// `d2-local-sagemaker --port 0` as a child process; its URL read from the first line it prints. It runs from the test
/// output folder, where its default training command is the `d2` beside it.
/// </summary>
internal sealed class LocalSageMakerProcess : IDisposable
{
    readonly Process _process;
    readonly ConcurrentQueue<string> _lines = new();

    LocalSageMakerProcess(Process process, Uri url)
    {
        _process = process;
        Url = url;
    }

    public Uri Url { get; }
    public string Output => string.Join('\n', _lines);

    public static LocalSageMakerProcess Start(string root)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(TestContext.CurrentContext.TestDirectory, "d2-local-sagemaker.dll"), "--port", "0", "--root", root })
            info.ArgumentList.Add(arg);
        var process = Process.Start(info)!;
        var lines = new ConcurrentQueue<string>();
        var url = new TaskCompletionSource<Uri>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lines.Enqueue(e.Data);
            if (Regex.Match(e.Data, @"listening on (http://\S+)") is { Success: true } m)
                url.TrySetResult(new Uri(m.Groups[1].Value));
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!url.Task.Wait(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("d2-local-sagemaker printed no URL within 60 s:\n" + string.Join('\n', lines));
        }
        var server = new LocalSageMakerProcess(process, url.Task.Result);
        foreach (var line in lines)
            server._lines.Enqueue(line);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) server._lines.Enqueue(e.Data); };
        return server;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            // SIGTERM: the graceful stop the command promises.
            Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
                _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}
