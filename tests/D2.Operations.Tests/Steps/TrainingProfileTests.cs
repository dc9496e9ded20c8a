using System.Text.Json;
using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;
using D2.Operations.ServiceModels;

namespace D2.Operations.Tests.Steps;

public class TrainingProfileTests
{
    private const string ProfileJson = """
        {
          // Operators write these files; comments and trailing commas are fine.
          "jobNamePrefix": "balloon-mask-rcnn",
          "roleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
          "registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
          "repository": "d2-trainer",
          "version": "1.2.3",
          "instanceType": "ml.g5.2xlarge",
          "volumeSizeInGB": 100,
          "maxRuntimeInSeconds": 7200,
          "spot": true,
          "maxWaitTimeInSeconds": 10800,
          "hyperParameters": { "config-file": "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml", "opts": "SOLVER.MAX_ITER 300", "seed": 42, "resume": true },
          "channels": { "training": "s3://bucket/balloon/train/", "validation": "s3://bucket/balloon/val/" },
          "outputPath": "s3://bucket/output",
          "checkpointUri": "s3://bucket/checkpoints/balloon",
          "environment": { "D2_LOG_LEVEL": "info" },
          "tags": { "project": "d2" },
          "gitRevision": "0123456789abcdef",
        }
        """;

    private static readonly DateTimeOffset Now = new(2026, 5, 1, 13, 14, 15, TimeSpan.FromHours(2));

    [Test]
    public void ProfileFileBecomesAValidCreateTrainingJobRequest()
    {
        var profile = TrainingProfile.Parse(ProfileJson, "balloon.json");
        Assert.That(profile.HyperParameters["seed"], Is.EqualTo("42"));
        Assert.That(profile.HyperParameters["resume"], Is.EqualTo("true"));
        Assert.That(profile.InstanceCount, Is.EqualTo(1));

        var request = TrainingJobRequests.Build(profile, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/d2-trainer:1.2.3-ampere", Now);

        Assert.That(request.TrainingJobName, Is.EqualTo("balloon-mask-rcnn-20260501-111415"), "UTC time stamp");
        Assert.That(request.AlgorithmSpecification!.MetricDefinitions, Is.SameAs(TrainerMetrics.Definitions));
        Assert.That(request.AlgorithmSpecification.TrainingInputMode, Is.EqualTo(TrainingInputMode.File));
        Assert.That(request.EnableManagedSpotTraining, Is.True);
        Assert.That(request.StoppingCondition, Is.EqualTo(new StoppingCondition { MaxRuntimeInSeconds = 7200, MaxWaitTimeInSeconds = 10800 }));
        Assert.That(request.CheckpointConfig!.S3Uri, Is.EqualTo("s3://bucket/checkpoints/balloon"));
        Assert.That(request.InputDataConfig!.Select(c => (c.ChannelName, c.DataSource.S3DataSource!.S3Uri)),
            Is.EqualTo(new[] { ("training", "s3://bucket/balloon/train/"), ("validation", "s3://bucket/balloon/val/") }));
        Assert.That(request.ResourceConfig, Is.EqualTo(new ResourceConfig { InstanceType = "ml.g5.2xlarge", InstanceCount = 1, VolumeSizeInGB = 100 }));
        Assert.That(request.Tags, Is.EqualTo(new[] { new Tag("project", "d2"), new Tag("git-revision", "0123456789abcdef") }));

        var body = JsonSerializer.SerializeToNode(request, AwsJson.PascalCase);
        Assert.That(ShapeValidator.Validate(ServiceModel.Get("sagemaker"), "CreateTrainingJob", body), Is.Empty);
        Assert.That(body!["HyperParameters"]!.AsObject().Select(h => h.Value!.GetValueKind()), Is.All.EqualTo(JsonValueKind.String));
    }

    [Test]
    public void SpotNeedsCheckpointsAndAWaitOfAtLeastTheRuntime()
    {
        var profile = TrainingProfile.Parse(ProfileJson);

        var noCheckpoint = Assert.Throws<InvalidProfileException>(() => (profile with { CheckpointUri = null }).Validate());
        Assert.That(noCheckpoint!.Field, Is.EqualTo("checkpointUri"));
        var shortWait = Assert.Throws<InvalidProfileException>(() => (profile with { MaxWaitTimeInSeconds = 3600 }).Validate());
        Assert.That(shortWait!.Message, Is.EqualTo("training profile: 'maxWaitTimeInSeconds' must be at least maxRuntimeInSeconds (7200) with spot training (got 3600)."));
        var waitWithoutSpot = Assert.Throws<InvalidProfileException>(() => (profile with { Spot = false }).Validate());
        Assert.That(waitWithoutSpot!.Field, Is.EqualTo("maxWaitTimeInSeconds"));

        var defaultWait = TrainingJobRequests.Build(profile with { MaxWaitTimeInSeconds = null }, "image", Now);
        Assert.That(defaultWait.StoppingCondition!.MaxWaitTimeInSeconds, Is.EqualTo(14400));
        var onDemand = TrainingJobRequests.Build(profile with { Spot = false, MaxWaitTimeInSeconds = null, CheckpointUri = null }, "image", Now);
        Assert.That((onDemand.EnableManagedSpotTraining, onDemand.StoppingCondition!.MaxWaitTimeInSeconds, onDemand.CheckpointConfig), Is.EqualTo((default(bool?), default(int?), default(CheckpointConfig))));
    }

    [TestCase("\"instanceCount\": \"two\"", "instanceCount", "'instanceCount' must be a whole number, not the string \"two\".")]
    [TestCase("\"instanceTyp\": \"ml.g5.xlarge\"", "instanceTyp", "unknown field 'instanceTyp'; known fields: jobNamePrefix, roleArn,")]
    [TestCase("\"channels\": { \"training\": [\"s3://a/b\"] }", "channels.training", "'channels.training' must be an s3:// URI (file:// locally) or a file system")]
    [TestCase("\"channels\": { \"train ing\": \"s3://a/b\" }", "channels.train ing", "is not a valid channel name")]
    [TestCase("\"channels\": { \"training\": \"/data/balloon\" }", "channels.training", "must be an s3://bucket/prefix URI, or file:///absolute/path")]
    [TestCase("\"image\": \"my/image:1\"", "image", "'image' excludes 'repository' and 'version'")]
    [TestCase("\"environment\": { \"1BAD\": \"x\" }", "environment.1BAD", "is not a valid variable name")]
    [TestCase("\"volumeSizeInGB\": 0", "volumeSizeInGB", "'volumeSizeInGB' must be at least 1 (got 0).")]
    public void BadFieldsAreNamedWithTheFile(string field, string name, string message)
    {
        var json = ProfileJson.Replace("\"jobNamePrefix\"", field + ",\n  \"jobNamePrefix\"", StringComparison.Ordinal);
        if (field.StartsWith("\"channels\"", StringComparison.Ordinal))
            json = json.Replace("\"channels\": { \"training\": \"s3://bucket/balloon/train/\", \"validation\": \"s3://bucket/balloon/val/\" },", "", StringComparison.Ordinal);
        if (field.StartsWith("\"environment\"", StringComparison.Ordinal))
            json = json.Replace("\"environment\": { \"D2_LOG_LEVEL\": \"info\" },", "", StringComparison.Ordinal);
        if (field.StartsWith("\"volumeSizeInGB\"", StringComparison.Ordinal))
            json = json.Replace("\"volumeSizeInGB\": 100,", "", StringComparison.Ordinal);
        var path = Path.Combine(Path.GetTempPath(), $"d2-profile-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        try
        {
            var error = Assert.Throws<InvalidProfileException>(() => TrainingProfile.Load(path));
            Assert.That(error!.Field, Is.EqualTo(name));
            Assert.That(error.Message, Does.StartWith($"training profile '{path}': ").And.Contain(message));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void MissingRequiredFieldIsNamed()
    {
        var error = Assert.Throws<InvalidProfileException>(() => TrainingProfile.Parse("""{"jobNamePrefix":"x","instanceType":"ml.m5.large"}""", "p.json"));
        Assert.That(error!.Message, Is.EqualTo("p.json: 'roleArn' is required (a non-empty string)."));
    }

    [Test]
    public void NamesAreTimestampedCutToSixtyThreeAndValid()
    {
        var longName = ResourceNames.Timestamped(new string('a', 70) + "_model", Now);
        Assert.That(longName, Has.Length.EqualTo(63));
        Assert.That(longName, Does.EndWith("-20260501-111415"));
        Assert.That(ResourceNames.Timestamped("--my_model.v2 (test)--", Now), Is.EqualTo("my-model-v2-test-20260501-111415"));
        var pattern = ServiceModel.Get("sagemaker").GetShape("TrainingJobName").Pattern!;
        Assert.That(JavaRegex.FullMatch(pattern, longName), Is.True);
        Assert.That(JavaRegex.FullMatch(ServiceModel.Get("sagemaker").GetShape("ModelName").Pattern!, longName), Is.True);
        Assert.Throws<ArgumentException>(() => ResourceNames.Timestamped("__", Now));
    }

    [Test]
    public void DeploymentProfileNeedsExactlyOneModelSource()
    {
        const string Base = """{"endpointName":"balloon","repository":"d2-serving","version":"1.0.0","instanceType":"ml.g5.xlarge" MORE}""";
        var neither = Assert.Throws<InvalidProfileException>(() => DeploymentProfile.Parse(Base.Replace(" MORE", "", StringComparison.Ordinal), "d.json"));
        Assert.That(neither!.Message, Is.EqualTo("d.json: 'trainingJobName' or 'modelDataUrl' is required: the model is a training job's artifacts or a model.tar.gz URI."));
        var both = Assert.Throws<InvalidProfileException>(() =>
            DeploymentProfile.Parse(Base.Replace(" MORE", ",\"trainingJobName\":\"j\",\"modelDataUrl\":\"s3://b/m.tar.gz\"", StringComparison.Ordinal)));
        Assert.That(both!.Field, Is.EqualTo("modelDataUrl"));
        var ok = DeploymentProfile.Parse(Base.Replace(" MORE", ",\"modelDataUrl\":\"s3://b/m.tar.gz\",\"deletePrevious\":true", StringComparison.Ordinal));
        Assert.That((ok.DeletePrevious, ok.InstanceCount), Is.EqualTo((true, 1)));
    }
}
