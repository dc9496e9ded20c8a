using System.Diagnostics;
using System.Globalization;
using Amazon.Runtime;
using D2.Operations.Aws;
using System.Text.RegularExpressions;
using D2.Detection.Checkpoint;
using D2.Detection.Config;
using D2.Detection.Inference;
using D2.Detection.Modeling;
using SkiaSharp;
using static TorchSharp.torch;

namespace D2.Trainer.Tests.Weights;

/// <summary>
/// MODEL.WEIGHTS s3://bucket/key (and `d2 predict --weights`, `d2 convert-model --input`) through the real AWSSDK.S3 in a
/// real `d2` process against <see cref="LoopbackS3Server"/>, pointed there the way a user points the SDK at MinIO or
/// LocalStack: AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL), static keys in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, no shared
/// config files and AWS_EC2_METADATA_DISABLED so nothing reaches a real credential or metadata endpoint. The weights are a
/// tiny Mask R-CNN made at set-up; its local prediction is the reference the downloaded weights must reproduce exactly.
/// </summary>
[NonParallelizable]
public class S3WeightsTests
{
    const string Bucket = "d2-weights";
    const string Key = "runs/tiny/model_final.safetensors";
    const string S3Url = $"s3://{Bucket}/{Key}";
    const string Config = "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml";
    static readonly string[] TinyOpts =
    [
        "MODEL.FPN.OUT_CHANNELS", "32", "MODEL.ROI_BOX_HEAD.FC_DIM", "64", "MODEL.ROI_MASK_HEAD.CONV_DIM", "32", "MODEL.ROI_HEADS.NUM_CLASSES", "1",
        "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0", "INPUT.MIN_SIZE_TEST", "96", "INPUT.MAX_SIZE_TEST", "128", "MODEL.DEVICE", "cpu",
    ];

    string _root = "";
    string _modelDirectory = "";
    string _configOnlyDirectory = "";
    string _imagePath = "";
    byte[] _weights = [];
    string? _referenceJson;

    [OneTimeSetUp]
    public void CreateWeightsDatasetAndImage()
    {
        _root = Directory.CreateTempSubdirectory("d2-s3-").FullName;
        var (exit, _, stderr) = D2Process.Run("synth-balloons", "--out", Path.Combine(_root, "datasets", "balloon"), "--train", "1", "--val", "2", "--size", "128x96");
        Assert.That(exit, Is.Zero, stderr);

        var cfg = ModelZoo.GetConfig(Config, TinyOpts);
        manual_seed(23);
        _modelDirectory = Path.Combine(_root, "model");
        using (var model = ModelBuilder.Build(cfg))
            ModelArtifact.Write(_modelDirectory, model, cfg, ["balloon"]);
        _weights = File.ReadAllBytes(Path.Combine(_modelDirectory, ModelArtifact.WeightsFileName));
        // The artifact without its weights: `d2 predict --weights` supplies them.
        _configOnlyDirectory = Path.Combine(_root, "config-only");
        Directory.CreateDirectory(_configOnlyDirectory);
        foreach (var file in new[] { ModelArtifact.ConfigFileName, ModelArtifact.MetadataFileName })
            File.Copy(Path.Combine(_modelDirectory, file), Path.Combine(_configOnlyDirectory, file));

        using var bitmap = new SKBitmap(new SKImageInfo(80, 60, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(90, 120, 150));
            using var paint = new SKPaint { Color = new SKColor(230, 30, 30) };
            canvas.DrawOval(30, 30, 15, 20, paint);
        }
        _imagePath = Path.Combine(_root, "balloon.png");
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(_imagePath, png.ToArray());
    }

    [OneTimeTearDown]
    public void Delete() => Directory.Delete(_root, recursive: true);

    /// <summary>The child's AWS environment: only what is set here (no profile files, no container or instance credentials).</summary>
    Dictionary<string, string?> Environment(Uri? endpoint, string cache, string endpointVariable = "AWS_ENDPOINT_URL_S3",
        string? accessKey = LoopbackS3Server.AccessKeyId, string secretKey = LoopbackS3Server.SecretAccessKey)
    {
        var none = Path.Combine(_root, "no-aws-files");
        var environment = new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = accessKey,
            ["AWS_SECRET_ACCESS_KEY"] = accessKey is null ? null : secretKey,
            ["AWS_SESSION_TOKEN"] = null,
            ["AWS_PROFILE"] = null,
            ["AWS_DEFAULT_PROFILE"] = null,
            ["AWS_CONFIG_FILE"] = Path.Combine(none, "config"),
            ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(none, "credentials"),
            ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = null,
            ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = null,
            ["AWS_WEB_IDENTITY_TOKEN_FILE"] = null,
            ["AWS_ROLE_ARN"] = null,
            ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = null,
            ["AWS_ENDPOINT_URL"] = null,
            ["AWS_ENDPOINT_URL_S3"] = null,
            ["AWS_REGION"] = "eu-west-1",
            ["D2_CACHE"] = cache,
            ["D2_DOWNLOAD_RETRIES"] = "0",
        };
        if (endpoint is not null)
            // localhost, not 127.0.0.1: bucket.localhost does not resolve, so only path-style addressing reaches the server.
            environment[endpointVariable] = $"http://localhost:{endpoint.Port}";
        return environment;
    }

    (int Exit, string Stdout, string Stderr) EvalOnly(Dictionary<string, string?> environment, string output) =>
        D2Process.RunWithEnvironment(environment, [
            "train", "--config-file", Config, "--eval-only", "--output", output, "--datasets-root", Path.Combine(_root, "datasets"),
            "--opts", .. TinyOpts, "DATASETS.TEST", "(\"balloon_val\",)", "MODEL.WEIGHTS", S3Url, "DATALOADER.NUM_WORKERS", "0"]);

    (int Exit, string Stdout, string Stderr) Predict(Dictionary<string, string?> environment, string model, string? weights) =>
        D2Process.RunWithEnvironment(environment, ["predict", "--model", model, "--image", _imagePath, .. weights is null ? Array.Empty<string>() : ["--weights", weights]]);

    /// <summary>`d2 predict` with the artifact's own weights: what every other source must reproduce byte for byte.</summary>
    string ReferenceJson()
    {
        if (_referenceJson is null)
        {
            var (exit, stdout, stderr) = Predict(Environment(null, Path.Combine(_root, "unused-cache")), _modelDirectory, null);
            Assert.That(exit, Is.Zero, stderr);
            _referenceJson = stdout;
        }
        return _referenceJson;
    }

    static void AssertSigned(S3Request request)
    {
        var auth = LoopbackS3Server.AuthorizationPattern().Match(request.Headers["authorization"]);
        Assert.That(auth.Success, request.Headers["authorization"]);
        Assert.That(auth.Groups["akid"].Value, Is.EqualTo(LoopbackS3Server.AccessKeyId));
        Assert.That(auth.Groups["region"].Value, Is.EqualTo("eu-west-1"));
        Assert.That(auth.Groups["service"].Value, Is.EqualTo("s3"));
        Assert.That(auth.Groups["signed"].Value.Split(';'), Does.Contain("host").And.Contain("x-amz-content-sha256").And.Contain("x-amz-date"));
        Assert.That(request.Headers["x-amz-date"], Does.Match(@"^\d{8}T\d{6}Z$").And.StartWith(auth.Groups["date"].Value));
        Assert.That(request.Headers["x-amz-content-sha256"], Is.EqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            .Or.EqualTo("UNSIGNED-PAYLOAD"));
        Assert.That(request.SignatureValid, Is.True, "the server's SigV4 recomputation matches; canonical request:\n" + request.CanonicalRequest);

        // The repository's own signer, given the request the server received, signs it to the same Authorization header.
        var signed = auth.Groups["signed"].Value.Split(';');
        var passed = signed.Where(h => h is not ("host" or "x-amz-date" or "x-amz-content-sha256")).Select(h => KeyValuePair.Create(h, request.Headers[h]));
        var time = DateTimeOffset.ParseExact(request.Headers["x-amz-date"], "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var ours = SigV4Signer.Sign(request.Method, new Uri($"http://{request.Headers["host"]}{request.RawTarget}"), passed, [],
            new ImmutableCredentials(LoopbackS3Server.AccessKeyId, LoopbackS3Server.SecretAccessKey, null), "eu-west-1", "s3", time, s3: true);
        Assert.That(ours.Authorization, Is.EqualTo(request.Headers["authorization"]), ours.CanonicalRequest);
    }

    static void AssertNoStackTrace(string output) =>
        Assert.That(output, Does.Not.Match(@"\n\s+at [\w.]+\(").And.Not.Contain("Unhandled exception"), "a message, not a stack trace");

    [Test]
    public async Task Train_fetches_signed_s3_weights_into_the_cache_once_and_loads_them()
    {
        await using var server = await LoopbackS3Server.StartAsync(Bucket);
        server.Put(Bucket, Key, _weights);
        var cache = Path.Combine(_root, "train-cache");
        var environment = Environment(server.Url, cache);

        var (exit, stdout, stderr) = EvalOnly(environment, Path.Combine(_root, "train-first"));
        Assert.That(exit, Is.Zero, stderr + stdout);
        var requests = server.Requests.ToArray();
        Assert.That(requests.Select(r => $"{r.Method} {r.RawTarget}"), Is.EqualTo(new[] { $"GET /{Bucket}/{Key}" }), "one path-style GetObject");
        AssertSigned(requests[0]);
        TestContext.Out.WriteLine($"{requests[0].Headers["authorization"]}\n{requests[0].CanonicalRequest}");
        Assert.That(requests[0].Headers["host"], Is.EqualTo($"localhost:{server.Url.Port}"));

        var cached = Path.Combine(cache, "s3", Bucket, "runs", "tiny", "model_final.safetensors");
        Assert.That(File.ReadAllBytes(cached), Is.EqualTo(_weights));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(cached)!), Is.EqualTo(new[] { cached }), "no .partial or .lock left");
        Assert.That(stdout, Does.Contain($"Downloading {S3Url} to {cached}").And.Contain($"[Checkpointer] Loading from {cached} ..."));
        Assert.That(stdout, Does.Not.Contain(CheckpointKeyGroups.MissingHeader), "every parameter came from the downloaded file");

        (exit, stdout, stderr) = EvalOnly(environment, Path.Combine(_root, "train-second"));
        Assert.That(exit, Is.Zero, stderr + stdout);
        Assert.That(server.Requests, Has.Count.EqualTo(1), "the second run fetches nothing");
        Assert.That(stdout, Does.Contain($"Using cached {cached} for {S3Url}"));
    }

    [Test]
    public async Task Predict_with_s3_weights_resumes_a_cut_download_of_the_same_object_and_answers_as_the_local_weights()
    {
        var reference = ReferenceJson();
        await using var server = await LoopbackS3Server.StartAsync(Bucket);
        server.Put(Bucket, Key, _weights);
        server.CutNextAfter = _weights.Length / 3;
        var environment = Environment(server.Url, Path.Combine(_root, "predict-cache"));
        environment["D2_DOWNLOAD_RETRIES"] = "1";

        var (exit, stdout, stderr) = Predict(environment, _configOnlyDirectory, S3Url);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Is.EqualTo(reference), "the same JSON as with the artifact's own weights");
        var requests = server.Requests.ToArray();
        Assert.That(requests, Has.Length.EqualTo(2), string.Join("\n", requests.Select(r => $"{r.Method} {r.RawTarget} {r.Headers.GetValueOrDefault("range")}")));
        Assert.That(requests[0].Headers.ContainsKey("range"), Is.False);
        var resume = Regex.Match(requests[1].Headers.GetValueOrDefault("range") ?? "", @"^bytes=(\d+)-$");
        Assert.That(resume.Success, "the retry asks for the rest: " + requests[1].Headers.GetValueOrDefault("range"));
        Assert.That(long.Parse(resume.Groups[1].Value), Is.InRange(1L, _weights.Length / 3));
        Assert.That(requests[1].Headers.GetValueOrDefault("if-match"), Does.StartWith("\""), "only of the same object (its ETag)");
        Assert.That(requests.Select(r => r.SignatureValid), Has.All.True);
        Assert.That(stderr, Does.Contain("Download interrupted").And.Contain("Resuming at"));
    }

    [Test]
    public async Task Predict_with_model_zoo_weights_downloads_them_from_the_zoo_url()
    {
        var reference = ReferenceJson();
        const string zooPath = "/detectron2/test-runs/tiny/model_final.safetensors";
        await using var zoo = await ModelZooServer.StartAsync(new() { [zooPath] = _weights });
        var cache = Path.Combine(_root, "zoo-cache");
        var environment = Environment(null, cache);
        environment["D2_MODEL_ZOO_URL"] = new Uri(zoo.Url, "detectron2/").ToString();

        var (exit, stdout, stderr) = Predict(environment, _configOnlyDirectory, "detectron2://test-runs/tiny/model_final.safetensors");
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Is.EqualTo(reference));
        Assert.That(zoo.Requests, Is.EqualTo(new[] { zooPath }));
        Assert.That(File.ReadAllBytes(Path.Combine(cache, "detectron2", "test-runs", "tiny", "model_final.safetensors")), Is.EqualTo(_weights));
    }

    [Test]
    public async Task Credentials_from_the_container_endpoint_sign_with_their_session_token()
    {
        var reference = ReferenceJson();
        await using var server = await LoopbackS3Server.StartAsync(Bucket);
        server.Put(Bucket, Key, _weights);
        // As in a SageMaker or ECS container, with the endpoint on loopback (the SDK accepts a full URI there).
        var environment = Environment(server.Url, Path.Combine(_root, "container-cache"), accessKey: null);
        environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = new Uri(server.Url, LoopbackS3Server.ContainerCredentialsPath).ToString();

        var (exit, stdout, stderr) = Predict(environment, _configOnlyDirectory, S3Url);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Is.EqualTo(reference));
        var requests = server.Requests.ToArray();
        Assert.That(requests.Select(r => r.RawTarget), Is.EqualTo(new[] { LoopbackS3Server.ContainerCredentialsPath, $"/{Bucket}/{Key}" }));
        Assert.That(requests[1].Headers.GetValueOrDefault("x-amz-security-token"), Is.EqualTo(LoopbackS3Server.SessionToken));
        Assert.That(LoopbackS3Server.AuthorizationPattern().Match(requests[1].Headers["authorization"]).Groups["signed"].Value.Split(';'),
            Does.Contain("x-amz-security-token"));
        Assert.That(requests[1].SignatureValid, Is.True, requests[1].CanonicalRequest);
    }

    [Test]
    public async Task Convert_model_takes_s3_input_with_a_config_file()
    {
        await using var server = await LoopbackS3Server.StartAsync(Bucket);
        server.Put(Bucket, Key, _weights);
        var environment = Environment(server.Url, Path.Combine(_root, "convert-cache"));
        var output = Path.Combine(_root, "converted");

        var (exit, stdout, stderr) = D2Process.RunWithEnvironment(environment,
            "convert-model", "--input", S3Url, "--output", output, "--config-file", Path.Combine(_modelDirectory, ModelArtifact.ConfigFileName),
            "--class-names", "balloon");
        Assert.That(exit, Is.Zero, stderr + stdout);
        Assert.That(stdout, Does.Contain("0 unused, 0 missing"));
        Assert.That(server.Requests, Has.Count.EqualTo(1));
        Assert.That(File.Exists(Path.Combine(output, ModelArtifact.WeightsFileName)), Is.True);

        (exit, _, stderr) = D2Process.RunWithEnvironment(environment, "convert-model", "--input", S3Url, "--output", output + "-2");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--config-file is required when --input is a URL"));
    }

    [Test]
    public void A_process_that_finds_the_download_locked_waits_and_then_uses_the_file_the_holder_cached()
    {
        var cache = Path.Combine(_root, "lock-cache");
        var log = new StringWriter();
        // Nothing listens on port 1: only the cached file can satisfy this.
        var weights = new D2.Trainer.Weights.RemoteWeights(TextWriter.Synchronized(log), cache, maxRetries: 0);
        var cached = weights.CachePath("http://127.0.0.1:1/runs/model_final.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        string resolved;
        using (var holder = new FileStream(cached + ".lock", FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
        {
            var waiter = Task.Run(() => weights.Resolve("http://127.0.0.1:1/runs/model_final.safetensors"));
            Thread.Sleep(600);
            Assert.That(waiter.IsCompleted, Is.False, "waits while another process holds the lock");
            File.WriteAllBytes(cached, _weights);
            holder.Dispose();
            File.Delete(cached + ".lock");
            Assert.That(waiter.Wait(TimeSpan.FromSeconds(10)), Is.True);
            resolved = waiter.Result;
        }
        Assert.That(resolved, Is.EqualTo(cached));
        Assert.That(log.ToString(), Does.Contain("Waiting for another process").And.Contain("(downloaded by another process)"));
    }

    /// <summary>Each failure: exit 2 (ClientError), one message naming the URI and the cause, no stack trace, nothing cached, quick.</summary>
    [TestCase("missing key", TestName = "Missing_key_is_named")]
    [TestCase("missing bucket", TestName = "Missing_bucket_is_named")]
    [TestCase("access denied", TestName = "Access_denied_names_the_permission")]
    [TestCase("wrong secret", TestName = "A_wrong_secret_gives_S3s_signature_error")]
    [TestCase("no credentials", TestName = "No_credentials_say_how_to_give_them")]
    [TestCase("unreachable", TestName = "An_unreachable_endpoint_is_named")]
    [TestCase("stalled", TestName = "A_stalled_download_times_out")]
    public async Task S3_failures_name_the_uri_and_the_cause(string failure)
    {
        await using var server = await LoopbackS3Server.StartAsync(Bucket);
        if (failure != "missing key")
            server.Put(Bucket, Key, _weights);
        var cache = Path.Combine(_root, "fail-cache-" + failure.Replace(' ', '-'));
        var endpoint = server.Url;
        if (failure == "unreachable")
            await server.DisposeAsync();
        var environment = failure switch
        {
            // The global variable is honoured too (the service one is unset here).
            "missing key" => Environment(endpoint, cache, endpointVariable: "AWS_ENDPOINT_URL"),
            "access denied" => Environment(endpoint, cache, accessKey: LoopbackS3Server.DeniedAccessKeyId),
            "wrong secret" => Environment(endpoint, cache, secretKey: "not-the-secret"),
            "no credentials" => Environment(endpoint, cache, accessKey: null),
            _ => Environment(endpoint, cache),
        };
        var url = failure == "missing bucket" ? $"s3://no-such-bucket/{Key}" : S3Url;
        if (failure == "stalled")
        {
            server.StallNext = true;
            environment["D2_DOWNLOAD_TIMEOUT"] = "2";
        }

        var clock = Stopwatch.StartNew();
        var (exit, stdout, stderr) = failure == "missing bucket"
            ? Predict(environment, _configOnlyDirectory, url)
            : EvalOnly(environment, Path.Combine(_root, "fail-" + failure.Replace(' ', '-')));
        clock.Stop();

        Assert.That(exit, Is.EqualTo(2), stderr + stdout);
        TestContext.Out.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: {stderr}");
        var setting = failure == "missing bucket" ? "--weights" : "MODEL.WEIGHTS";
        Assert.That(stderr, Does.Contain($"Could not download {setting} {url}: "));
        var endpointName = $"http://localhost:{endpoint.Port} (AWS_ENDPOINT_URL_S3)";
        var cause = failure switch
        {
            "missing key" => $"has no object '{Key}' in bucket '{Bucket}' (404 NoSuchKey)",
            "missing bucket" => $"the S3 endpoint {endpointName} has no bucket 'no-such-bucket' (404 NoSuchBucket)",
            "access denied" => $"refused the credentials in use (403 AccessDenied: Access Denied); they need s3:GetObject on arn:aws:s3:::{Bucket}/{Key}",
            "wrong secret" => "refused the credentials in use (403 SignatureDoesNotMatch",
            "no credentials" => "no AWS credentials were found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            "unreachable" => $"the S3 endpoint {endpointName} could not be reached",
            _ => "no data arrived for 2 s (D2_DOWNLOAD_TIMEOUT)",
        };
        Assert.That(stderr, Does.Contain(cause));
        if (failure == "missing key")
            Assert.That(stderr, Does.Contain("the S3 endpoint http://localhost:").And.Contain("(AWS_ENDPOINT_URL)"));
        AssertNoStackTrace(stderr + stdout);
        Assert.That(stdout + stderr, Does.Not.Contain("[Checkpointer] Loading"));
        Assert.That(Directory.Exists(cache) ? Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".partial", StringComparison.Ordinal)) : [],
            Is.Empty, "nothing usable is cached");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(45)), "bounded retries and timeouts");
        if (failure == "no credentials")
            Assert.That(server.Requests, Is.Empty, "an unsigned request is never sent");
        else if (failure != "unreachable")
            Assert.That(server.Requests.Select(r => r.Headers.ContainsKey("authorization")), Has.All.True);
    }
}
