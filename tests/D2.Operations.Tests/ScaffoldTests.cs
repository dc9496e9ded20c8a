using System.Reflection;

namespace D2.Operations.Tests;

public class ScaffoldTests
{
    [Test]
    public void ServiceModelsAreEmbedded()
    {
        var names = typeof(D2.Operations.OperationsAssembly).Assembly.GetManifestResourceNames();
        Assert.That(names, Does.Contain("D2.Operations.ServiceModels.sagemaker.json"));
    }
}
