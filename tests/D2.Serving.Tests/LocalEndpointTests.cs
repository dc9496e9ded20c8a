using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;
using D2.Operations.Local;
using D2.Operations.Steps;

namespace D2.Serving.Tests;

/// <summary>
/// Deploy and invoke locally: the operations library deploys a model.tar.gz to the local SageMaker, which runs the
/// real D2.Serving as the endpoint's container; InvokeEndpoint returns its inference JSON; the endpoint is deleted.
/// </summary>
[NonParallelizable]
public class LocalEndpointTests
{
    [Test]
    public async Task Deploy_invoke_and_delete_an_endpoint_served_by_d2_serving()
    {
        var root = Directory.CreateTempSubdirectory("d2-local-endpoint-").FullName;
        try
        {
            var model = Path.Combine(root, "model");
            ServingFixture.WriteModel(model);
            var tarball = Path.Combine(root, "model.tar.gz");
            await using (var file = File.Create(tarball))
            await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
                await TarFile.CreateFromDirectoryAsync(model, gzip, includeBaseDirectory: false);

            await using var server = await LocalSageMakerServer.StartAsync(new LocalSageMakerOptions
            {
                Root = Path.Combine(root, "local"),
                ServingCommand = ["dotnet", ServingFixture.ServingDll],
            });
            using var operations = OperationsContext.ForLocal(server);
            var progress = new List<string>();
            var deployed = await operations.Endpoints.DeployAsync(new DeploymentProfile
            {
                EndpointName = "balloons",
                ModelDataUrl = new Uri(tarball).AbsoluteUri,
                Image = "000000000000.dkr.ecr.us-east-1.amazonaws.com/d2-serving:local-cpu",
                InstanceType = "ml.m5.xlarge",
            }, new Progress<EndpointProgress>(p => progress.Add(p.ToString()!)), pollInterval: TimeSpan.FromMilliseconds(250), timeout: TimeSpan.FromMinutes(3));
            Assert.That(deployed.ToString(), Does.Contain("balloons"));

            var answer = await operations.Endpoints.InvokeAsync("balloons", ServingFixture.Image(), "image/jpeg");
            var json = JsonNode.Parse(answer.Body)!;
            Assert.That(json["image_size"]!.AsArray().Select(v => (int)v!), Is.EqualTo(new[] { 120, 160 }));
            Assert.That(json["pred_masks_rle"]!.AsArray().Count, Is.EqualTo(json["scores"]!.AsArray().Count));

            var deletion = await operations.Endpoints.DeleteEndpointAsync("balloons", deleteConfigAndModels: true, pollInterval: TimeSpan.FromMilliseconds(250));
            Assert.That(deletion.Existed, Is.True);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
