namespace D2.Operations.Tests.Steps;

/// <summary>
/// A bash script playing the trainer image for the operations tests: it prints Detectron2's CommonMetricPrinter lines
/// and an evaluation line (what TrainerMetrics' regexes read) and behaves per the "mode" hyperparameter: ok (writes
/// model/ and finishes after a moment), fail (failure file, exit 1), long (runs until SIGTERM, then exits 0).
/// </summary>
internal static class MetricTrainer
{
    public const string FailureText = "AlgorithmError: dataset 'balloon_train' not found under /opt/ml/input/data/training";

    private const string Script = """
        #!/usr/bin/env bash
        set -u
        base="$SAGEMAKER_BASE_DIR"
        hp="$(cat "$base/input/config/hyperparameters.json")"
        mode=ok
        if [[ "$hp" =~ \"mode\"[[:space:]]*:[[:space:]]*\"([a-z]+)\" ]]; then mode="${BASH_REMATCH[1]}"; fi
        echo "[05/01 10:00:00 d2.utils.events]:  eta: 0:00:10  iter: 19  total_loss: 0.9  loss_cls: 0.4  loss_box_reg: 0.3  time: 0.8123  last_time: 0.8000  data_time: 0.0004  last_data_time: 0.0003   lr: 0.005  max_mem: 1234M"
        case "$mode" in
          fail) echo "about to fail" >&2; echo "FAILURE_TEXT" > "$base/output/failure"; exit 1;;
          long) trap 'echo "got SIGTERM"; exit 0' TERM; while true; do sleep 0.05; done;;
        esac
        sleep 0.3
        echo "[05/01 10:00:09 d2.utils.events]:  eta: 0:00:00  iter: 39  total_loss: 0.5  loss_cls: 0.25  loss_box_reg: 0.125  time: 0.7500  last_time: 0.7000  data_time: 0.0004  last_data_time: 0.0003   lr: 0.01  max_mem: 1234M"
        echo "[eval] balloon_val bbox/AP=12.5000 bbox/AP50=30.2500"
        echo "weights" > "$base/model/model_final.safetensors"
        ls "$base/input/data/training" > "$base/model/channel-listing.txt"
        exit 0
        """;

    private static readonly Lazy<string> ScriptPath = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"d2-metric-trainer-{Environment.ProcessId}.sh");
        File.WriteAllText(path, Script.Replace("FAILURE_TEXT", FailureText, StringComparison.Ordinal).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    });

    /// <summary>The training command prefix (the local SageMaker appends "train").</summary>
    public static IReadOnlyList<string> Command => ["bash", ScriptPath.Value];
}
