using System.Text.Json.Nodes;
using D2.Operations.ServiceModels;

namespace D2.Operations.Tests.ServiceModels;

public class ShapeValidatorTests
{
    private static ServiceModel SageMaker => ServiceModel.Get("sagemaker");

    /// <summary>A CreateTrainingJob request AWS accepts; tests break one member at a time.</summary>
    private static JsonObject ValidTrainingJob() => JsonNode.Parse("""
        {
          "TrainingJobName": "d2-mask-rcnn-2024-01-01",
          "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
          "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/d2-trainer:ampere",
            "TrainingInputMode": "File",
            "MetricDefinitions": [ { "Name": "loss", "Regex": "total_loss: ([0-9.]+)" } ]
          },
          "HyperParameters": { "config-file": "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml" },
          "InputDataConfig": [
            { "ChannelName": "training",
              "DataSource": { "S3DataSource": { "S3DataType": "S3Prefix", "S3Uri": "s3://bucket/data/" } } }
          ],
          "OutputDataConfig": { "S3OutputPath": "s3://bucket/output/" },
          "ResourceConfig": { "InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50 },
          "StoppingCondition": { "MaxRuntimeInSeconds": 86400 },
          "EnableManagedSpotTraining": false,
          "Tags": [ { "Key": "project", "Value": "d2" } ]
        }
        """)!.AsObject();

    private static IReadOnlyList<ShapeViolation> Validate(JsonObject request) =>
        ShapeValidator.Validate(SageMaker, "CreateTrainingJob", request);

    [Test]
    public void ValidRequestHasNoViolations() => Assert.That(Validate(ValidTrainingJob()), Is.Empty);

    [Test]
    public void RequiredMemberMissing()
    {
        var request = ValidTrainingJob();
        request.Remove("RoleArn");
        var violations = Validate(request);
        Assert.That(violations, Has.Count.EqualTo(1));
        Assert.That(violations[0].MemberPath, Is.EqualTo("roleArn"));
        Assert.That(violations[0].ToString(), Is.EqualTo("Value null at 'roleArn' failed to satisfy constraint: Member must not be null"));
    }

    [Test]
    public void NestedRequiredMemberUsesCamelCasePath()
    {
        var request = ValidTrainingJob();
        request["OutputDataConfig"] = new JsonObject();
        Assert.That(Validate(request).Select(v => v.MemberPath), Is.EqualTo(new[] { "outputDataConfig.s3OutputPath" }));
    }

    [Test]
    public void UnknownMemberIsRejected()
    {
        var request = ValidTrainingJob();
        request["TrainingJobNmae"] = "typo";
        var violations = Validate(request);
        Assert.That(violations.Single().MemberPath, Is.EqualTo("trainingJobNmae"));
        Assert.That(violations.Single().Message, Does.Contain("CreateTrainingJobRequest"));
    }

    [Test]
    public void PatternMustMatchWholeValue()
    {
        var request = ValidTrainingJob();
        request["TrainingJobName"] = "my_job"; // '_' is outside the pattern; a partial match would wrongly accept it
        var violations = Validate(request);
        Assert.That(violations.Single().ToString(), Is.EqualTo(
            "Value 'my_job' at 'trainingJobName' failed to satisfy constraint: " +
            "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"));
    }

    [Test]
    public void StringLengthBounds()
    {
        var request = ValidTrainingJob();
        request["TrainingJobName"] = new string('a', 64);
        var messages = Validate(request).Select(v => v.Message).ToList();
        Assert.That(messages, Does.Contain("Member must have length less than or equal to 63"));

        request["TrainingJobName"] = "";
        messages = Validate(request).Select(v => v.Message).ToList();
        Assert.That(messages, Does.Contain("Member must have length greater than or equal to 1"));
    }

    [Test]
    public void EnumRejectsUnknownInstanceType()
    {
        var request = ValidTrainingJob();
        request["ResourceConfig"]!["InstanceType"] = "ml.g5.huge";
        var violation = Validate(request).Single();
        Assert.That(violation.MemberPath, Is.EqualTo("resourceConfig.instanceType"));
        Assert.That(violation.Message, Does.StartWith("Member must satisfy enum value set: [ml.m4.xlarge, "));
        Assert.That(violation.Value, Is.EqualTo("ml.g5.huge"));
    }

    [Test]
    public void NumericValueBounds()
    {
        var request = ValidTrainingJob();
        request["StoppingCondition"]!["MaxRuntimeInSeconds"] = 0;
        var violation = Validate(request).Single();
        Assert.That(violation.ToString(), Is.EqualTo(
            "Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: " +
            "Member must have value greater than or equal to 1"));
    }

    [Test]
    public void IntegerRejectsFractionsAndStrings()
    {
        var request = ValidTrainingJob();
        request["ResourceConfig"]!["InstanceCount"] = 1.5;
        request["ResourceConfig"]!["VolumeSizeInGB"] = "50";
        var violations = Validate(request);
        Assert.That(violations.Select(v => v.MemberPath),
            Is.EquivalentTo(new[] { "resourceConfig.instanceCount", "resourceConfig.volumeSizeInGB" }));
        Assert.That(violations.Select(v => v.Message), Has.All.StartWith("Member must be"));
    }

    [Test]
    public void BooleanType()
    {
        var request = ValidTrainingJob();
        request["EnableManagedSpotTraining"] = "true";
        Assert.That(Validate(request).Single().Message, Is.EqualTo("Member must be a boolean"));
    }

    [Test]
    public void MapSizeAndValueLimits()
    {
        var request = ValidTrainingJob();
        var hyperParameters = new JsonObject();
        for (var i = 0; i < 101; i++)
        {
            hyperParameters[$"k{i}"] = "v";
        }

        request["HyperParameters"] = hyperParameters;
        Assert.That(Validate(request).Single().Message, Is.EqualTo("Member must have length less than or equal to 100"));

        request["HyperParameters"] = new JsonObject { ["opts"] = new string('x', 2501), [new string('k', 257)] = "v" };
        var violations = Validate(request);
        Assert.That(violations, Has.Count.EqualTo(2));
        Assert.That(violations.Select(v => v.MemberPath), Has.All.EqualTo("hyperParameters"));
        Assert.That(violations.Select(v => v.Message), Does.Contain(
            "Map value at key 'opts' must satisfy constraint: [Member must have length less than or equal to 2500]"));
        Assert.That(violations.Select(v => v.Message), Does.Contain(
            "Map keys must satisfy constraint: [Member must have length less than or equal to 256]"));
    }

    [Test]
    public void MapValuesMustBeStrings()
    {
        var request = ValidTrainingJob();
        request["HyperParameters"] = new JsonObject { ["lr"] = 0.02 };
        Assert.That(Validate(request).Single().Message, Does.Contain("Member must be a string"));
    }

    [Test]
    public void ListElementsUseAwsIndexedPaths()
    {
        var request = ValidTrainingJob();
        request["InputDataConfig"]!.AsArray().Add(new JsonObject { ["ChannelName"] = "bad channel!" });
        var paths = Validate(request).Select(v => v.MemberPath).ToList();
        Assert.That(paths, Does.Contain("inputDataConfig.2.member.channelName"));
        Assert.That(paths, Does.Contain("inputDataConfig.2.member.dataSource"));
    }

    [Test]
    public void ListLengthBounds()
    {
        var request = ValidTrainingJob();
        request["InputDataConfig"] = new JsonArray();
        Assert.That(Validate(request).Single().ToString(), Is.EqualTo(
            "Value '[]' at 'inputDataConfig' failed to satisfy constraint: Member must have length greater than or equal to 1"));
    }

    [Test]
    public void StructureTypeMismatch()
    {
        var request = ValidTrainingJob();
        request["ResourceConfig"] = "ml.g5.xlarge";
        Assert.That(Validate(request).Single().Message, Is.EqualTo("Member must be a structure"));
    }

    [Test]
    public void TimestampMustBeEpochNumber()
    {
        var listJobs = new JsonObject { ["CreationTimeAfter"] = "2024-01-01" };
        Assert.That(ShapeValidator.Validate(SageMaker, "ListTrainingJobs", listJobs).Single().MemberPath, Is.EqualTo("creationTimeAfter"));
        listJobs["CreationTimeAfter"] = 1704067200.5;
        Assert.That(ShapeValidator.Validate(SageMaker, "ListTrainingJobs", listJobs), Is.Empty);
    }

    [Test]
    public void BlobLengthAndBase64()
    {
        var runtime = ServiceModel.Get("sagemaker-runtime");
        var ok = new JsonObject { ["EndpointName"] = "d2-endpoint", ["Body"] = Convert.ToBase64String(new byte[16]) };
        Assert.That(ShapeValidator.Validate(runtime, "InvokeEndpoint", ok), Is.Empty);

        var raw = new JsonObject { ["EndpointName"] = "d2-endpoint", ["Body"] = JsonValue.Create(new byte[6_291_457]) };
        var violation = ShapeValidator.Validate(runtime, "InvokeEndpoint", raw).Single();
        Assert.That(violation.Message, Is.EqualTo("Member must have length less than or equal to 6291456"));
        Assert.That(violation.Value, Is.EqualTo("***"), "BodyBlob is sensitive");

        var notBase64 = new JsonObject { ["EndpointName"] = "d2-endpoint", ["Body"] = "not base64!" };
        Assert.That(ShapeValidator.Validate(runtime, "InvokeEndpoint", notBase64).Single().MemberPath, Is.EqualTo("body"));
    }

    [Test]
    public void EcrCamelCaseMembers()
    {
        var ecr = ServiceModel.Get("ecr");
        var request = new JsonObject { ["repositoryName"] = "D2/Trainer" }; // upper case is outside ECR's pattern
        var violation = ShapeValidator.Validate(ecr, "CreateRepository", request).Single();
        Assert.That(violation.MemberPath, Is.EqualTo("repositoryName"));
        Assert.That(violation.Message, Does.StartWith("Member must satisfy regular expression pattern"));
        Assert.That(ShapeValidator.Validate(ecr, "CreateRepository", new JsonObject { ["repositoryName"] = "d2/trainer" }), Is.Empty);
    }

    [Test]
    public void OperationWithoutRequiredInputAcceptsNull() =>
        Assert.That(ShapeValidator.Validate(ServiceModel.Get("ecr"), "GetAuthorizationToken", null), Is.Empty);

    [Test]
    public void FormatMessageMatchesAws()
    {
        var request = ValidTrainingJob();
        request["TrainingJobName"] = "bad_name";
        request["ResourceConfig"]!["InstanceCount"] = -1;
        var message = ShapeValidator.FormatMessage(Validate(request));
        Assert.That(message, Does.StartWith("2 validation errors detected: Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: "));
        Assert.That(message, Does.Contain("; Value '-1' at 'resourceConfig.instanceCount' failed to satisfy constraint: Member must have value greater than or equal to 0"));
        Assert.That(ShapeValidator.FormatMessage([new ShapeViolation("roleArn", "Member must not be null")]),
            Is.EqualTo("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"));
    }
}
