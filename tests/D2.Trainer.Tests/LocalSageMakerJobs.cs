using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;
using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;

namespace D2.Trainer.Tests;

/// <summary>What the distributed local-SageMaker tests share: a COCO channel of same-size images with the same number
/// of objects, the CreateTrainingJob request of the real trainer image, polling, and reading the packed artifacts.</summary>
internal static class LocalSageMakerJobs
{
    /// <summary>Writes <paramref name="count"/> JPEGs of 160×120 (synthetic balloons) and a COCO annotations.json that
    /// gives each exactly two boxes, at different places per image: every image yields the same number of training
    /// samples, so Detectron2's per-batch loss normalisers agree between a 2×1 and a 1×2 layout.</summary>
    public static string TwoObjectChannel(string root, int count)
    {
        var data = Path.Combine(root, "data");
        var (exit, _, stderr) = D2Process.Run("synth-balloons", "--out", data, "--train", count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--val", "0", "--size", "160x120");
        Assert.That(exit, Is.Zero, stderr);
        var train = Path.Combine(data, "train");
        foreach (var json in Directory.GetFiles(train, "*.json"))
            File.Delete(json);
        var images = new JsonArray();
        var annotations = new JsonArray();
        var files = Directory.GetFiles(train, "*.jpg").Order(StringComparer.Ordinal).ToList();
        for (var i = 0; i < files.Count; i++)
        {
            images.Add(new JsonObject { ["id"] = i + 1, ["file_name"] = Path.GetFileName(files[i]), ["width"] = 160, ["height"] = 120 });
            double[][] boxes = [[10 + 7 * i, 12 + 3 * i, 45, 38], [80 - 5 * i, 50 + 4 * i, 52, 40]];
            foreach (var box in boxes)
                annotations.Add(new JsonObject
                {
                    ["id"] = annotations.Count + 1, ["image_id"] = i + 1, ["category_id"] = 1, ["iscrowd"] = 0,
                    ["bbox"] = new JsonArray([.. box.Select(v => (JsonNode)v)]), ["area"] = box[2] * box[3],
                });
        }
        var coco = new JsonObject
        {
            ["images"] = images, ["annotations"] = annotations,
            ["categories"] = new JsonArray(new JsonObject { ["id"] = 1, ["name"] = "balloon" }),
        };
        File.WriteAllText(Path.Combine(train, "annotations.json"), coco.ToJsonString());
        return train;
    }

    public static CreateTrainingJobRequest Request(string name, string trainChannel, string outputFolder, int instanceCount, string opts,
        string? checkpointFolder = null) => new()
    {
        TrainingJobName = name,
        RoleArn = "arn:aws:iam::000000000000:role/SageMakerRole",
        AlgorithmSpecification = new AlgorithmSpecification
        {
            TrainingImage = "000000000000.dkr.ecr.us-east-1.amazonaws.com/d2-trainer:local-cpu",
            MetricDefinitions = [.. TrainerMetrics.Definitions],
        },
        HyperParameters = new Dictionary<string, string>
        {
            ["config-file"] = "Misc/cpu_faster_rcnn_R_18_FPN_GN_small.yaml",
            ["opts"] = opts,
        },
        InputDataConfig = [new Channel
        {
            ChannelName = "training",
            DataSource = new DataSource { S3DataSource = new S3DataSource { S3Uri = new Uri(trainChannel).AbsoluteUri } },
        }],
        OutputDataConfig = new OutputDataConfig { S3OutputPath = new Uri(outputFolder).AbsoluteUri },
        CheckpointConfig = checkpointFolder is null ? null : new CheckpointConfig { S3Uri = new Uri(checkpointFolder).AbsoluteUri },
        ResourceConfig = new ResourceConfig { InstanceType = "ml.m5.xlarge", InstanceCount = instanceCount, VolumeSizeInGB = 5 },
        StoppingCondition = new StoppingCondition { MaxRuntimeInSeconds = 900 },
    };

    /// <summary>Polls until the job leaves InProgress/Stopping (bounded).</summary>
    public static async Task<DescribeTrainingJobResponse> WaitAsync(SageMakerClient client, string name, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var job = await client.DescribeTrainingJobAsync(name);
            if (job.TrainingJobStatus is not (TrainingJobStatus.InProgress or TrainingJobStatus.Stopping) || clock.Elapsed > limit)
                return job;
            await Task.Delay(250);
        }
    }

    /// <summary>Extracts a .tar.gz into a new folder under <paramref name="into"/>.</summary>
    public static string Extract(string tarGz, string into)
    {
        Directory.CreateDirectory(into);
        using var file = File.OpenRead(tarGz);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        TarFile.ExtractToDirectory(gzip, into, overwriteFiles: true);
        return into;
    }
}
