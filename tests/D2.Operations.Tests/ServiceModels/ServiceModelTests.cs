using D2.Operations.ServiceModels;

namespace D2.Operations.Tests.ServiceModels;

public class ServiceModelTests
{
    [TestCase("sagemaker", "2017-07-24", "json", "sagemaker", "SageMaker")]
    [TestCase("sagemaker-runtime", "2017-05-13", "rest-json", "sagemaker", null)]
    [TestCase("ecr", "2015-09-21", "json", "ecr", "AmazonEC2ContainerRegistry_V20150921")]
    [TestCase("sts", "2011-06-15", "query", "sts", null)]
    public void MetadataIsLoaded(string service, string apiVersion, string protocol, string signingName, string? targetPrefix)
    {
        var model = ServiceModel.Get(service);
        Assert.That(model.Metadata.ApiVersion, Is.EqualTo(apiVersion));
        Assert.That(model.Metadata.Protocol, Is.EqualTo(protocol));
        Assert.That(model.Metadata.SigningName, Is.EqualTo(signingName));
        Assert.That(model.Metadata.TargetPrefix, Is.EqualTo(targetPrefix));
    }

    [Test]
    public void ModelsAreCached()
    {
        var first = ServiceModel.Get("sagemaker");
        Assert.That(ServiceModel.Get("sagemaker"), Is.SameAs(first));
    }

    [Test]
    public void UnknownServiceIsRejected() =>
        Assert.That(() => ServiceModel.Get("s3"), Throws.ArgumentException.With.Message.Contains("s3"));

    [Test]
    public void OperationsCarryShapesAndErrors()
    {
        var model = ServiceModel.Get("sagemaker");
        var op = model.GetOperation("CreateTrainingJob");
        Assert.That(op.InputShape, Is.EqualTo("CreateTrainingJobRequest"));
        Assert.That(op.OutputShape, Is.EqualTo("CreateTrainingJobResponse"));
        Assert.That(op.Errors, Is.EquivalentTo(new[] { "ResourceInUse", "ResourceLimitExceeded", "ResourceNotFound" }));

        var request = model.GetShape(op.InputShape!);
        Assert.That(request.Type, Is.EqualTo(ShapeType.Structure));
        Assert.That(request.Required, Does.Contain("TrainingJobName"));
        Assert.That(model.GetShape("TrainingJobName").Pattern, Is.EqualTo("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"));
        Assert.That(model.GetShape("HyperParameters").KeyShape, Is.EqualTo("HyperParameterKey"));
        Assert.That(model.GetShape("ResourceNotFound").IsException, Is.True);
    }

    [Test]
    public void RestJsonBindingsAreKept()
    {
        var model = ServiceModel.Get("sagemaker-runtime");
        var op = model.GetOperation("InvokeEndpoint");
        Assert.That(op.RequestUri, Is.EqualTo("/endpoints/{EndpointName}/invocations"));
        var input = model.GetShape(op.InputShape!);
        Assert.That(input.Payload, Is.EqualTo("Body"));
        Assert.That(input.Members["CustomAttributes"].Location, Is.EqualTo("header"));
        Assert.That(input.Members["CustomAttributes"].LocationName, Is.EqualTo("X-Amzn-SageMaker-Custom-Attributes"));
        Assert.That(model.GetShape("ModelError").ErrorStatusCode, Is.EqualTo(424));
    }

    [Test]
    public void MissingOperationNamesTheService() =>
        Assert.That(() => ServiceModel.Get("ecr").GetOperation("DeleteRepository"),
            Throws.TypeOf<KeyNotFoundException>().With.Message.Contains("ecr"));
}
