namespace D2.MLOps.Tests;

/// <summary>
/// The operator's whole cycle in one pipeline, on the local SageMaker with the real trainer (d2, 3 iterations of the
/// small CPU config on 8 synthetic balloon images) and the real server (D2.Serving).
/// </summary>
[TestFixture]
public sealed class FullCycleTests
{
    [Test]
    public async Task TrainDeployInvokeReturnsInstancesAndPng()
    {
        var script = $$"""
            $d2 = {{Pwsh.Quote(Pwsh.D2Dll)}}
            $serving = {{Pwsh.Quote(Pwsh.ServingDll)}}
            $root = Join-Path ([IO.Path]::GetTempPath()) ("d2-mlops-cycle-" + [guid]::NewGuid().ToString('N'))
            $data = Join-Path $root balloon
            & dotnet $d2 synth-balloons --out $data --train 8 --val 4 | Out-Null
            if ($LASTEXITCODE) { throw "synth-balloons failed ($LASTEXITCODE)" }
            $server = Start-D2LocalSageMaker -Root (Join-Path $root local) -TrainingCommand dotnet, $d2 -ServingCommand dotnet, $serving
            # The profile carries what has no parameter (the annotation files); parameters add the rest.
            $profilePath = Join-Path $root profile.json
            @{ jobNamePrefix = 'cycle'; roleArn = 'arn:aws:iam::000000000000:role/SageMakerExecutionRole'; instanceType = 'ml.m5.xlarge'; image = 'd2-trainer:local-cpu'
               outputPath = 'file:///unused/'; hyperParameters = @{ 'training-annotations' = 'annotations.json'; 'validation-annotations' = 'annotations.json' } } |
                ConvertTo-Json | Set-Content $profilePath
            $image = Get-ChildItem (Join-Path $data val) -Filter *.jpg | Sort-Object Name | Select-Object -First 1
            try {
                $answer = Start-D2Training -Local -ProfilePath $profilePath -ConfigFile Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml `
                        -Opts 'SOLVER.MAX_ITER', '3', 'SOLVER.STEPS', '(1,2)', 'SOLVER.WARMUP_ITERS', '1', 'SOLVER.CHECKPOINT_PERIOD', '3', 'TEST.EVAL_PERIOD', '0' `
                        -TrainingData (Join-Path $data train) -ValidationData (Join-Path $data val) -OutputPath (Join-Path $root jobs) -Wait |
                    Deploy-D2Model -Local -EndpointName cycle -Timeout 00:04:00 |
                    Invoke-D2Endpoint -Local -InFile $image.FullName
                $job = Get-D2TrainingJob -Local -NameContains cycle -MaxResults 1
                $png = Get-D2Endpoint -Local -EndpointName cycle | Invoke-D2Endpoint -Local -InFile $image.FullName -Accept image/png -OutFile (Join-Path $root overlay.png)
                $bytes = [IO.File]::ReadAllBytes($png.FullName)
                $removed = Remove-D2Endpoint -Local -EndpointName cycle -Force
                $gone = try { Get-D2Endpoint -Local -EndpointName cycle; 'still there' } catch { "$($_.CategoryInfo.Category)" }
                $result = @{
                    keys = @($answer.PSObject.Properties.Name); boxes = @($answer.pred_boxes).Count; scores = @($answer.scores).Count
                    classes = @($answer.pred_classes).Count; names = @($answer.class_names).Count; imageSize = @($answer.image_size)
                    status = "$($job.TrainingJobStatus)"; png = [BitConverter]::ToString($bytes, 0, 8); pngLength = $bytes.Length
                    removed = $removed.Existed; gone = $gone
                }
            }
            finally {
                Stop-D2LocalSageMaker
            }
            Remove-Item -Recurse -Force $root -ErrorAction SilentlyContinue
            $result | ConvertTo-Json -Compress
            """;
        var run = await Pwsh.RunAsync(script, TimeSpan.FromMinutes(5));
        var json = run.Json();
        var keys = json.GetProperty("keys").EnumerateArray().Select(k => k.GetString()).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(keys, Is.SupersetOf(new[] { "pred_boxes", "scores", "pred_classes", "class_names", "image_size" }), run.Errors);
            var boxes = json.GetProperty("boxes").GetInt32();
            Assert.That(json.GetProperty("scores").GetInt32(), Is.EqualTo(boxes));
            Assert.That(json.GetProperty("classes").GetInt32(), Is.EqualTo(boxes));
            Assert.That(json.GetProperty("names").GetInt32(), Is.EqualTo(boxes));
            Assert.That(json.GetProperty("imageSize").GetArrayLength(), Is.EqualTo(2));
            Assert.That(json.GetProperty("status").GetString(), Is.EqualTo("Completed"));
            Assert.That(json.GetProperty("png").GetString(), Is.EqualTo("89-50-4E-47-0D-0A-1A-0A"), "PNG signature");
            Assert.That(json.GetProperty("pngLength").GetInt32(), Is.GreaterThan(1000));
            Assert.That(json.GetProperty("removed").GetBoolean(), Is.True);
            Assert.That(json.GetProperty("gone").GetString(), Is.EqualTo("ObjectNotFound"));
        });
    }
}
