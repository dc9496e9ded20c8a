using TorchSharp;

namespace D2.Detection.Tests;

public class TorchRuntimeTests
{
    [TestCase("cpu")]
    [TestCase(" CPU ")]
    public void ResolveDevice_accepts_cpu(string name) =>
        Assert.That(TorchRuntime.ResolveDevice(name).type, Is.EqualTo(DeviceType.CPU));

    [TestCase("gpu", "use 'cpu', 'cuda' or 'cuda:N'")]
    [TestCase("cuda:x", "must be an integer")]
    public void ResolveDevice_rejects_malformed_names_with_the_reason(string name, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => TorchRuntime.ResolveDevice(name));
        Assert.That(error!.Message, Does.Contain(name).And.Contain(reason));
    }

    [Test]
    public void ResolveDevice_explains_a_cuda_request_on_a_build_without_cuda()
    {
        Assume.That(torch.cuda.is_available(), Is.False, "this host has CUDA");
        var error = Assert.Throws<InvalidOperationException>(() => TorchRuntime.ResolveDevice("cuda:0"));
        Assert.That(error!.Message, Does.Contain("TorchBackend=cuda").And.Contain("MODEL.DEVICE cpu"));
    }
}
