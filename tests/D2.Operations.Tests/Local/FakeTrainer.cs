namespace D2.Operations.Tests.Local;

/// <summary>
/// A bash script that plays the training container: reads SAGEMAKER_BASE_DIR's config and a channel file, prints
/// metric lines, writes model/ and output/data/, and behaves per the "mode" hyperparameter: ok, fail (failure file,
/// exit 1), crash (exit 7, no failure file), long (runs until SIGTERM, then writes a checkpoint and exits 0),
/// stubborn (ignores SIGTERM).
/// </summary>
internal static class FakeTrainer
{
    private const string Script = """
        #!/usr/bin/env bash
        set -u
        base="$SAGEMAKER_BASE_DIR"
        hp="$(cat "$base/input/config/hyperparameters.json")"
        mode=ok
        if [[ "$hp" =~ \"mode\"[[:space:]]*:[[:space:]]*\"([a-z]+)\" ]]; then mode="${BASH_REMATCH[1]}"; fi
        echo "args: $*"
        echo "job: $TRAINING_JOB_NAME arn: $TRAINING_JOB_ARN region: $AWS_REGION custom: ${CUSTOM_ENV:-}"
        if [ -f "$base/input/data/train/data.txt" ]; then echo "channel: $(cat "$base/input/data/train/data.txt")"; fi
        if [ -f "$base/checkpoints/previous.txt" ]; then echo "resumed: $(cat "$base/checkpoints/previous.txt")"; fi
        cp "$base/input/config/"*.json "$base/model/"
        case "$mode" in
          fail) echo "loss: 2.5"; echo "Something went wrong in the trainer" > "$base/output/failure"; exit 1;;
          crash) echo "crashing" >&2; exit 7;;
          long)
            trap 'echo "checkpoint at stop" > "$base/checkpoints/at-stop.txt"; echo stopped > "$base/model/partial.txt"; echo "got SIGTERM"; exit 0' TERM
            echo "loss: 1.0"
            echo "early" > "$base/checkpoints/early.txt"
            while true; do sleep 0.05; done;;
          stubborn)
            trap 'echo "ignoring SIGTERM"' TERM
            echo trapped > "$base/model/trapped.txt"
            while true; do sleep 0.05; done;;
        esac
        echo "loss: 0.9"
        echo "loss: 0.5" >&2
        echo "accuracy: 0.75"
        echo "weights for $TRAINING_JOB_NAME" > "$base/model/weights.txt"
        mkdir -p "$base/model/sub"
        echo nested > "$base/model/sub/nested.txt"
        echo report > "$base/output/data/report.txt"
        exit 0
        """;

    private static readonly Lazy<string> ScriptPath = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"d2-fake-trainer-{Environment.ProcessId}.sh");
        File.WriteAllText(path, Script.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    });

    /// <summary>The training command prefix: bash and the script (the server appends "train").</summary>
    public static IReadOnlyList<string> Command => ["bash", ScriptPath.Value];
}
