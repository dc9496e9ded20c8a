using System.Diagnostics;

namespace D2.Operations.Local;

/// <summary>
/// A child process standing in for a container: started with the contract's environment, its stdout and stderr
/// appended line by line to one log file (and echoed to the server log), each line also handed to
/// <c>onLine</c> (metric regexes), stopped with SIGTERM then SIGKILL after a grace period.
/// </summary>
internal sealed class LocalProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Action<string>? _onLine;
    private readonly TextWriter? _echo;
    private readonly string _echoPrefix;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _tail = new();
    private bool _disposed;

    private LocalProcess(Process process, StreamWriter log, Action<string>? onLine, TextWriter? echo, string echoPrefix)
    {
        _process = process;
        _log = log;
        _onLine = onLine;
        _echo = echo;
        _echoPrefix = echoPrefix;
    }

    public int Id => _process.Id;

    public DateTimeOffset StartTime { get; private set; }

    public string LogPath { get; private init; } = "";

    /// <summary>Starts <c>command[0] command[1..]</c> in <paramref name="workingDirectory"/> with the current environment
    /// plus <paramref name="environment"/>; a missing program is an exception naming it.</summary>
    public static LocalProcess Start(IReadOnlyList<string> command, string workingDirectory, IReadOnlyDictionary<string, string> environment,
        string logPath, Action<string>? onLine, TextWriter? echo, string echoPrefix)
    {
        if (command.Count == 0)
            throw new InvalidOperationException("The command is empty.");
        var info = new ProcessStartInfo(command[0])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Skip(1))
            info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment)
            info.Environment[key] = value;
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var local = new LocalProcess(process, log, onLine, echo, echoPrefix) { LogPath = logPath };
        process.OutputDataReceived += (_, e) => local.OnData(e.Data, local._stdoutClosed);
        process.ErrorDataReceived += (_, e) => local.OnData(e.Data, local._stderrClosed);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            log.WriteLine($"Could not start '{string.Join(' ', command)}': {e.Message}");
            log.Dispose();
            process.Dispose();
            throw new InvalidOperationException($"Could not start '{command[0]}': {e.Message}", e);
        }
        local.StartTime = DateTimeOffset.UtcNow;
        // No stdin: a container has none, and a child waiting on the terminal must not hang.
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return local;
    }

    /// <summary>The exit code, after every output line has been handled.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken = default)
    {
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
        return _process.ExitCode;
    }

    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    /// <summary>SIGTERM now, SIGKILL when still running after <paramref name="grace"/>; returns when it has exited.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        PosixSignals.Terminate(_process);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            PosixSignals.Kill(_process);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    public void SendTerminate() => PosixSignals.Terminate(_process);

    public void Kill() => PosixSignals.Kill(_process);

    /// <summary>The last lines the process wrote, for failure reasons.</summary>
    public string Tail(int maxChars)
    {
        lock (_gate)
        {
            var text = string.Join('\n', _tail);
            return text.Length <= maxChars ? text : text[^maxChars..];
        }
    }

    public void WriteLog(string line)
    {
        lock (_gate)
        {
            if (!_disposed)
                _log.WriteLine(line);
        }
    }

    private void OnData(string? line, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }
        lock (_gate)
        {
            if (!_disposed)
                _log.WriteLine(line);
            _tail.Enqueue(line);
            if (_tail.Count > 20)
                _tail.Dequeue();
            _echo?.WriteLine(_echoPrefix + line);
        }
        _onLine?.Invoke(line);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _log.Dispose();
        }
        _process.Dispose();
    }
}
