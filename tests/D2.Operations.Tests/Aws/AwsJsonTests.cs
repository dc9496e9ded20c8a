using System.Text.Json;
using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Tests.Aws;

public class AwsJsonTests
{
    [Test]
    public void TimestampsAreEpochSeconds()
    {
        var request = new ListTrainingJobsRequest { CreationTimeAfter = DateTimeOffset.FromUnixTimeMilliseconds(1700000000250), MaxResults = 10 };
        Assert.That(JsonSerializer.Serialize(request, AwsJson.PascalCase), Is.EqualTo("""{"MaxResults":10,"CreationTimeAfter":1700000000.25}"""));

        var whole = new ListTrainingJobsRequest { CreationTimeBefore = DateTimeOffset.FromUnixTimeSeconds(1700000000) };
        Assert.That(JsonSerializer.Serialize(whole, AwsJson.PascalCase), Is.EqualTo("""{"CreationTimeBefore":1700000000}"""));
    }

    [Test]
    public void EnumsAreStringsAndUnknownValuesReadAsUnknown()
    {
        Assert.That(JsonSerializer.Serialize(TrainingJobStatus.InProgress, AwsJson.PascalCase), Is.EqualTo("\"InProgress\""));
        Assert.That(JsonSerializer.Deserialize<EndpointStatus>("\"InService\"", AwsJson.PascalCase), Is.EqualTo(EndpointStatus.InService));
        Assert.That(JsonSerializer.Deserialize<EndpointStatus>("\"Hibernating\"", AwsJson.PascalCase), Is.EqualTo(EndpointStatus.Unknown));
        Assert.That(JsonSerializer.Serialize(D2.Operations.Aws.Ecr.ImageTagMutability.MutableWithExclusion, AwsJson.CamelCase), Is.EqualTo("\"MUTABLE_WITH_EXCLUSION\""));
    }

    [Test]
    public void MapKeysAreNeverRenamed()
    {
        var container = new ContainerDefinition { Environment = new Dictionary<string, string> { ["SAGEMAKER_PROGRAM"] = "x", ["lowerKey"] = "y" } };
        Assert.That(JsonSerializer.Serialize(container, AwsJson.CamelCase), Is.EqualTo("""{"environment":{"SAGEMAKER_PROGRAM":"x","lowerKey":"y"}}"""));
    }
}
