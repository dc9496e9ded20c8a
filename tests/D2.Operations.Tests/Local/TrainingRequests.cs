using System.Text.Json.Nodes;

namespace D2.Operations.Tests.Local;

/// <summary>CreateTrainingJob bodies as a client would send them, with file:// channels and outputs.</summary>
internal static class TrainingRequests
{
    public static JsonObject Create(string name, string dataFolder, string outputFolder, string mode = "ok", string? checkpointFolder = null)
    {
        var request = new JsonObject
        {
            ["TrainingJobName"] = name,
            ["RoleArn"] = "arn:aws:iam::000000000000:role/SageMakerRole",
            ["AlgorithmSpecification"] = new JsonObject
            {
                ["TrainingImage"] = "000000000000.dkr.ecr.us-east-1.amazonaws.com/d2-trainer:cpu",
                ["TrainingInputMode"] = "File",
                ["MetricDefinitions"] = new JsonArray(
                    new JsonObject { ["Name"] = "train:loss", ["Regex"] = "loss: ([0-9.]+)" },
                    new JsonObject { ["Name"] = "accuracy", ["Regex"] = "accuracy: ([0-9.]+)" }),
            },
            ["HyperParameters"] = new JsonObject { ["mode"] = mode, ["lr"] = "0.02", ["config-file"] = "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml" },
            ["InputDataConfig"] = new JsonArray(new JsonObject
            {
                ["ChannelName"] = "train",
                ["ContentType"] = "application/json",
                ["DataSource"] = new JsonObject
                {
                    ["S3DataSource"] = new JsonObject
                    {
                        ["S3DataType"] = "S3Prefix",
                        ["S3Uri"] = new Uri(dataFolder).AbsoluteUri,
                        ["S3DataDistributionType"] = "FullyReplicated",
                    },
                },
            }),
            ["OutputDataConfig"] = new JsonObject { ["S3OutputPath"] = new Uri(outputFolder).AbsoluteUri },
            ["ResourceConfig"] = new JsonObject { ["InstanceType"] = "ml.m5.xlarge", ["InstanceCount"] = 1, ["VolumeSizeInGB"] = 30 },
            ["StoppingCondition"] = new JsonObject { ["MaxRuntimeInSeconds"] = 3600 },
            ["Environment"] = new JsonObject { ["CUSTOM_ENV"] = "from-request" },
            ["Tags"] = new JsonArray(new JsonObject { ["Key"] = "project", ["Value"] = "d2" }),
        };
        if (checkpointFolder is not null)
            request["CheckpointConfig"] = new JsonObject { ["S3Uri"] = new Uri(checkpointFolder).AbsoluteUri };
        return request;
    }

    /// <summary>A data folder with train data the fake trainer echoes.</summary>
    public static string DataFolder(string root)
    {
        var folder = Path.Combine(root, "data");
        Directory.CreateDirectory(Path.Combine(folder, "images"));
        File.WriteAllText(Path.Combine(folder, "data.txt"), "balloons");
        File.WriteAllText(Path.Combine(folder, "images", "a.jpg"), "not really a jpeg");
        return folder;
    }
}
