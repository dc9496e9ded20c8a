using D2.Operations.Matrix;
using D2.Operations.ServiceModels;

namespace D2.Operations.Tests.Steps;

public class GpuArchitectureMatrixTests
{
    private static readonly GpuArchitectureMatrix Matrix = GpuArchitectureMatrix.LoadDefault();

    [TestCase("ml.c5.xlarge", "cpu")]
    [TestCase("ml.m5.large", "cpu")]
    [TestCase("ml.m7i.2xlarge", "cpu")]
    [TestCase("ml.g4dn.xlarge", "turing")]
    [TestCase("ml.g5.2xlarge", "ampere")]
    [TestCase("ml.p4d.24xlarge", "ampere")]
    [TestCase("ml.p4de.24xlarge", "ampere")]
    [TestCase("ml.g6.xlarge", "ada")]
    [TestCase("ml.g6e.12xlarge", "ada")]
    [TestCase("ml.p5.48xlarge", "hopper")]
    [TestCase("ml.p5en.48xlarge", "hopper")]
    [TestCase("ml.p3.2xlarge", "volta")]
    [TestCase("ml.p3.16xlarge", "volta")]
    [TestCase("ml.p3dn.24xlarge", "volta")]
    [TestCase("ml.p6-b200.48xlarge", "blackwell")]
    public void InstanceTypeMapsToItsArchitecture(string instanceType, string architecture) =>
        Assert.That(Matrix.ForInstanceType(instanceType).Name, Is.EqualTo(architecture));

    [Test]
    public void TheRepositoryFileIsReadAndMatchesTheEmbeddedCopy()
    {
        Assert.That(Matrix.Source, Does.EndWith(Path.Combine("build", "gpu-archs.json")));
        var embedded = GpuArchitectureMatrix.LoadEmbedded();
        Assert.That(embedded.Architectures.Select(a => a.Name), Is.EqualTo(new[] { "cpu", "volta", "turing", "ampere", "ada", "hopper", "blackwell" }));
        Assert.That(embedded.InstanceFamilies, Is.EqualTo(Matrix.InstanceFamilies));

        var ampere = Matrix.Get("ampere");
        Assert.That(ampere.ComputeCapabilities, Is.EqualTo(new[] { "sm_80", "sm_86" }));
        Assert.That(ampere.TorchBackend, Is.EqualTo("cuda"));
        Assert.That(ampere.BaseImage, Does.StartWith("nvidia/cuda:12.8"));
        Assert.That(Matrix.Get("cpu").BaseImage, Is.EqualTo("ubuntu:24.04"));
        Assert.That(Matrix.Get("cpu").IsGpu, Is.False);
    }

    [Test]
    public void EveryFamilyInTheMatrixHasSageMakerInstanceTypes()
    {
        var model = ServiceModel.Get("sagemaker");
        var types = model.GetShape("TrainingInstanceType").Enum!.Concat(model.GetShape("ProductionVariantInstanceType").Enum!).ToList();
        foreach (var family in Matrix.InstanceFamilies)
            Assert.That(types.Any(t => GpuArchitectureMatrix.FamilyOf(t) == family), Is.True, $"{family} has no instance type in the model");
    }

    [Test]
    public void UnknownInstanceTypesGetErrorsThatNameThemAndTheChoices()
    {
        var noSuchSize = Assert.Throws<ArgumentException>(() => Matrix.ForInstanceType("ml.g5.3xlarge"));
        Assert.That(noSuchSize!.Message, Does.Contain("'ml.g5.3xlarge'").And.Contain("ml.g5 offers").And.Contain("ml.g5.2xlarge"));

        var unserved = Assert.Throws<ArgumentException>(() => Matrix.ForInstanceType("ml.p6-b300.48xlarge"));
        Assert.That(unserved!.Message, Does.Contain("'ml.p6-b300.48xlarge'").And.Contain("family ml.p6-b300").And.Contain("ml.g4dn (turing)")
            .And.Contain("ml.g5/ml.p4d/ml.p4de (ampere)").And.Contain("ml.p3/ml.p3dn (volta)").And.Contain("ml.p6-b200 (blackwell)"));

        var nonsense = Assert.Throws<ArgumentException>(() => Matrix.ForInstanceType("gpu-large"));
        Assert.That(nonsense!.Message, Does.Contain("'gpu-large' is not a SageMaker instance type").And.Contain("ml.p5/ml.p5e/ml.p5en (hopper)"));

        var typo = Assert.Throws<ArgumentException>(() => Matrix.ForInstanceType("ml.g4dn.xlarge_typo", InstanceTypeUse.Training));
        Assert.That(typo!.Message, Does.Contain("training instance type (TrainingInstanceType)"));
    }

    [TestCase("ml.c6g.xlarge", InstanceTypeUse.Hosting, "Graviton is arm64")]
    [TestCase("ml.c6gn.2xlarge", InstanceTypeUse.Hosting, "Graviton is arm64")]
    [TestCase("ml.inf2.xlarge", InstanceTypeUse.Hosting, "Inferentia")]
    [TestCase("ml.inf1.xlarge", InstanceTypeUse.Hosting, "Inferentia")]
    [TestCase("ml.trn1.2xlarge", InstanceTypeUse.Training, "Trainium")]
    [TestCase("ml.trn2.48xlarge", InstanceTypeUse.Training, "Trainium")]
    [TestCase("ml.p6e-gb200.36xlarge", InstanceTypeUse.Training, "arm64")]
    public void FamiliesTheImagesCannotServeSayWhyAndNameTheServedOnes(string instanceType, InstanceTypeUse use, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => Matrix.ForInstanceType(instanceType, use));
        Assert.That(error!.Message, Does.Contain($"'{instanceType}'").And.Contain(reason).And.Contain("served families:")
            .And.Contain("(cpu)").And.Contain("(volta)").And.Contain("(blackwell)"));
    }

    [Test]
    public void ImageUriCarriesTheArchitectureInTheTag()
    {
        Assert.That(GpuArchitectureMatrix.ImageUri("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "d2-trainer", "1.2.3", Matrix.Get("ampere")),
            Is.EqualTo("123456789012.dkr.ecr.eu-west-1.amazonaws.com/d2-trainer:1.2.3-ampere"));
        Assert.That(GpuArchitectureMatrix.ImageUri("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/", "d2/serving", "0.1.0-rc.1", "cpu"),
            Is.EqualTo("123456789012.dkr.ecr.eu-west-1.amazonaws.com/d2/serving:0.1.0-rc.1-cpu"));
        Assert.Throws<ArgumentException>(() => GpuArchitectureMatrix.ImageUri("r", "d2", "1.0+build", "cpu"));
    }

    [Test]
    public void MalformedMatricesNameTheEntryAndField()
    {
        var duplicate = Assert.Throws<FormatException>(() => GpuArchitectureMatrix.Parse("""
            {"architectures":[
              {"name":"a","torchBackend":"cuda","baseImage":"x","computeCapabilities":["sm_80"],"instanceFamilies":["ml.g5"]},
              {"name":"b","torchBackend":"cuda","baseImage":"x","computeCapabilities":["sm_86"],"instanceFamilies":["ml.g5"]}]}
            """, "m.json"));
        Assert.That(duplicate!.Message, Is.EqualTo("m.json: instance family 'ml.g5' is listed by both 'a' and 'b'."));

        var backend = Assert.Throws<FormatException>(() => GpuArchitectureMatrix.Parse("""
            {"architectures":[{"name":"a","torchBackend":"rocm","baseImage":"x","computeCapabilities":[],"instanceFamilies":["ml.g5"]}]}
            """, "m.json"));
        Assert.That(backend!.Message, Is.EqualTo("m.json: architecture 'a': 'torchBackend' must be 'cpu' or 'cuda', not 'rocm'."));

        var family = Assert.Throws<FormatException>(() => GpuArchitectureMatrix.Parse("""
            {"architectures":[{"name":"a","torchBackend":"cpu","baseImage":"x","computeCapabilities":[],"instanceFamilies":["ml.m5.large"]}]}
            """, "m.json"));
        Assert.That(family!.Message, Does.Contain("'instanceFamilies'"));
    }
}
