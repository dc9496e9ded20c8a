using D2.Operations.Steps;

namespace D2.Operations.Tests.Steps;

/// <summary>The one merge of a deployment profile and parameters that Deploy-D2Model and the Deploy target share.</summary>
public class DeploymentProfileOverridesTests
{
    private static readonly DeploymentProfile Profile = DeploymentProfile.Parse("""
        { "endpointName": "balloons", "roleArn": "arn:aws:iam::123456789012:role/SageMaker", "trainingJobName": "job-1",
          "registry": "123456789012.dkr.ecr.us-east-1.amazonaws.com", "repository": "d2-serving", "version": "1.0",
          "instanceType": "ml.g5.xlarge", "instanceCount": 2, "environment": { "D2_MAX_BATCH_SIZE": "4" }, "deletePrevious": true }
        """);

    [Test]
    public void Parameters_override_the_profile_and_a_given_model_replaces_the_profiles()
    {
        var merged = new DeploymentProfileOverrides { ModelDataUrl = "s3://bucket/model.tar.gz", InstanceType = "ml.g5.2xlarge", DeletePrevious = false }
            .Apply(Profile, local: false);
        Assert.Multiple(() =>
        {
            Assert.That(merged.ModelDataUrl, Is.EqualTo("s3://bucket/model.tar.gz"));
            Assert.That(merged.TrainingJobName, Is.Null, "one source for the model");
            Assert.That(merged.InstanceType, Is.EqualTo("ml.g5.2xlarge"));
            Assert.That(merged.InstanceCount, Is.EqualTo(2), "kept from the profile");
            Assert.That(merged.Repository, Is.EqualTo("d2-serving"));
            Assert.That(merged.Image, Is.Null, "the profile's registry/repository/version still pick the image");
            Assert.That(merged.Environment["D2_MAX_BATCH_SIZE"], Is.EqualTo("4"));
            Assert.That(merged.DeletePrevious, Is.False);
        });
    }

    [Test]
    public void Without_overrides_the_profile_is_unchanged() =>
        Assert.That(new DeploymentProfileOverrides().Apply(Profile, local: false), Is.EqualTo(Profile));

    [Test]
    public void Local_fills_the_endpoint_image_and_instance_type_and_makes_paths_file_uris()
    {
        var model = Path.Combine(Path.GetTempPath(), "d2-model-" + Guid.NewGuid().ToString("N") + ".tar.gz");
        File.WriteAllBytes(model, [1]);
        try
        {
            var local = new DeploymentProfileOverrides { ModelDataUrl = model }.Apply(null, local: true);
            Assert.That(local.EndpointName, Is.EqualTo(DeploymentProfileOverrides.LocalEndpointName));
            Assert.That(local.Image, Is.EqualTo(DeploymentProfileOverrides.LocalImage));
            Assert.That(local.InstanceType, Is.EqualTo("ml.m5.xlarge"));
            Assert.That(local.ModelDataUrl, Is.EqualTo(new Uri(model).AbsoluteUri));
        }
        finally
        {
            File.Delete(model);
        }
    }

    [Test]
    public void Without_a_profile_on_AWS_the_missing_field_is_named()
    {
        var error = Assert.Throws<InvalidProfileException>(() => new DeploymentProfileOverrides { EndpointName = "e", TrainingJobName = "job-1" }.Apply(null, local: false))!;
        Assert.That(error.Field, Is.EqualTo("instanceType"));
        error = Assert.Throws<InvalidProfileException>(() => new DeploymentProfileOverrides { InstanceType = "ml.g5.xlarge", TrainingJobName = "job-1" }.Apply(null, local: false))!;
        Assert.That(error.Field, Is.EqualTo("endpointName"));
    }
}
