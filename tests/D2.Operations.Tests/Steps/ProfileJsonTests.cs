using D2.Operations.Steps;

namespace D2.Operations.Tests.Steps;

/// <summary>
/// The profile reader's rules beyond the per-profile tests: field names ignore case but may not repeat, null is "not
/// given", every wrong value is named down to the map key or list index, and the fields a file may hold come from the
/// records themselves (computed and code-only members are not among them).
/// </summary>
[Parallelizable(ParallelScope.All)]
public class ProfileJsonTests
{
    private const string Training = """
        {
          "jobNamePrefix": "balloon",
          "roleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
          "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/d2-trainer:1.0.0-ampere",
          "instanceType": "ml.g5.xlarge",
          "outputPath": "s3://bucket/output/" MORE
        }
        """;

    private const string Deployment = """{"endpointName":"balloon","image":"i:1","instanceType":"ml.g5.xlarge","modelDataUrl":"s3://b/m.tar.gz" MORE}""";

    private static TrainingProfile Read(string more) => TrainingProfile.Parse(Training.Replace(" MORE", more, StringComparison.Ordinal), "t.json");

    private static InvalidProfileException Error(string more) => Assert.Throws<InvalidProfileException>(() => Read(more))!;

    [Test]
    public void Field_names_ignore_case_and_null_is_not_given()
    {
        var profile = Read(""", "InstanceCount": 2, "SPOT": null, "checkpointUri": null, "Tags": {"Project": "d2"}""");
        Assert.That((profile.InstanceCount, profile.Spot, profile.CheckpointUri), Is.EqualTo((2, false, default(string))));
        Assert.That(profile.Tags, Is.EqualTo(new Dictionary<string, string> { ["Project"] = "d2" }), "map keys keep their case");
    }

    [Test]
    public void A_field_given_twice_in_any_case_is_refused()
    {
        var error = Error(""", "InstanceType": "ml.g5.2xlarge" """);
        Assert.That((error.Field, error.Message), Is.EqualTo(("InstanceType", "t.json: field 'InstanceType' is given twice (field names ignore case).")));
    }

    [TestCase(""", "jobNamePrefix": "again" """, "", "t.json: not valid JSON: ")]
    [TestCase(""", "hyperParameters": {"x": [1]}""", "hyperParameters.x", "t.json: 'hyperParameters.x' must be a string, not an array.")]
    [TestCase(""", "hyperParameters": "x=1" """, "hyperParameters", "t.json: 'hyperParameters' must be an object of string values, not the string \"x=1\".")]
    [TestCase(""", "vpcConfig": "vpc-1" """, "vpcConfig", "t.json: 'vpcConfig' must be an object, not the string \"vpc-1\".")]
    [TestCase(""", "vpcConfig": {"securityGroupIds": ["sg-1"], "subnets": [7]}""", "vpcConfig.subnets[0]", "t.json: 'vpcConfig.subnets[0]' must be a string, not 7.")]
    [TestCase(""", "vpcConfig": {"securityGroupIds": "sg-1", "subnets": []}""", "vpcConfig.securityGroupIds", "t.json: 'vpcConfig.securityGroupIds' must be a list of strings, not the string \"sg-1\".")]
    [TestCase(""", "vpcConfig": {"securityGroupIds": ["sg-1"], "subnets": ["subnet-1"], "vpcId": "vpc-1"}""", "vpcConfig.vpcId",
        "t.json: unknown field 'vpcConfig.vpcId'; known fields of 'vpcConfig': securityGroupIds, subnets.")]
    [TestCase(""", "spot": "yes" """, "spot", "t.json: 'spot' must be true or false, not the string \"yes\".")]
    [TestCase(""", "volumeSizeInGB": 1.5""", "volumeSizeInGB", "t.json: 'volumeSizeInGB' must be a whole number, not 1.5.")]
    [TestCase(""", "channels": ["s3://a/b"]""", "channels", "t.json: 'channels' must be an object, not an array.")]
    [TestCase(""", "channels": {"training": {"fileSystemId": "fs-0123456789abcdef0", "fileSystemType": 3, "directoryPath": "/x/y"}}""",
        "channels.training.fileSystemType", "t.json: 'channels.training.fileSystemType' must be one of EFS, FSxLustre (got 3).")]
    public void A_wrong_value_is_named_down_to_the_key_or_index(string more, string field, string message)
    {
        var error = Error(more);
        Assert.That(error.Field, Is.EqualTo(field));
        Assert.That(error.Message, message.EndsWith(": ", StringComparison.Ordinal) ? Does.StartWith(message).And.Contain("jobNamePrefix") : Is.EqualTo(message));
    }

    [TestCase("effectiveMaxWaitTimeInSeconds")]
    [TestCase("source")]
    [TestCase("fileSystemChannels")]
    public void Computed_and_code_only_members_are_not_fields_of_the_file(string member)
    {
        var error = Error($", \"{member}\": 1");
        Assert.That(error.Field, Is.EqualTo(member));
        Assert.That(error.Message, Does.StartWith($"t.json: unknown field '{member}'; known fields: jobNamePrefix, roleArn, "));
        var known = error.Message[error.Message.IndexOf("known fields: ", StringComparison.Ordinal)..];
        Assert.That(known, Does.Contain(", channels, ").And.Contain(", image, registry, repository, version, instanceType, instanceCount, ")
            .And.Not.Contain("source").And.Not.Contain("effective").And.Not.Contain("fileSystemChannels"));
    }

    [Test]
    public void The_deployment_profile_reads_the_same_way()
    {
        var profile = DeploymentProfile.Parse(Deployment.Replace(" MORE", ""","environment":{"WORKERS":2},"deletePrevious":true""", StringComparison.Ordinal), "d.json");
        Assert.That((profile.Environment["WORKERS"], profile.DeletePrevious, profile.Source), Is.EqualTo(("2", true, "d.json")));

        var wrong = Assert.Throws<InvalidProfileException>(() =>
            DeploymentProfile.Parse(Deployment.Replace(" MORE", ""","deletePrevious":"yes" """, StringComparison.Ordinal), "d.json"))!;
        Assert.That(wrong.Message, Is.EqualTo("d.json: 'deletePrevious' must be true or false, not the string \"yes\"."));
        var unknown = Assert.Throws<InvalidProfileException>(() =>
            DeploymentProfile.Parse(Deployment.Replace(" MORE", ""","jobNamePrefix":"x" """, StringComparison.Ordinal), "d.json"))!;
        Assert.That(unknown.Message, Does.StartWith("d.json: unknown field 'jobNamePrefix'; known fields: endpointName, roleArn, trainingJobName, modelDataUrl, "));
        var missing = Assert.Throws<InvalidProfileException>(() => DeploymentProfile.Parse("""{"endpointName":"e","modelDataUrl":"s3://b/m"}""", "d.json"))!;
        Assert.That(missing.Message, Is.EqualTo("d.json: 'instanceType' is required (a non-empty string)."));
    }
}
