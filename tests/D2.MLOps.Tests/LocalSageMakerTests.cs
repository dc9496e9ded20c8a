namespace D2.MLOps.Tests;

/// <summary>
/// Cmdlets against a local SageMaker on loopback whose "trainer" sleeps (a job that stays InProgress): request
/// validation, error categories, -WhatIf and Ctrl+C, each counted at the server (RequestCount).
/// </summary>
[TestFixture]
public sealed class LocalSageMakerTests
{
    private const string Prelude = """
        $root = Join-Path ([IO.Path]::GetTempPath()) ("d2-mlops-" + [guid]::NewGuid().ToString('N'))
        $server = Start-D2LocalSageMaker -Root $root -TrainingCommand bash, -c, 'sleep 120'
        """;

    private const string Cleanup = """
        Stop-D2LocalSageMaker
        Remove-Item -Recurse -Force $root -ErrorAction SilentlyContinue
        """;

    [Test]
    public async Task BadJobNameFailsBeforeAnyRequestNamingTheParameter()
    {
        var json = (await Pwsh.RunAsync(Prelude + """

            $before = $server.RequestCount
            $failure = try { Get-D2TrainingJob -Local -TrainingJobName 'bad name!'; $null } catch { $_ }
            $stop = try { Stop-D2TrainingJob -Local -TrainingJobName ('x' * 70) -Confirm:$false; $null } catch { $_ }
            $result = @{ requests = $server.RequestCount - $before; category = "$($failure.CategoryInfo.Category)"; message = $failure.ErrorDetails.Message
                         action = $failure.ErrorDetails.RecommendedAction; target = "$($failure.TargetObject)"; stopCategory = "$($stop.CategoryInfo.Category)"; stopMessage = $stop.ErrorDetails.Message }

            """ + Cleanup + "\n$result | ConvertTo-Json -Compress", TimeSpan.FromMinutes(1))).Json();
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("requests").GetInt64(), Is.Zero, "nothing reached the server");
            Assert.That(json.GetProperty("category").GetString(), Is.EqualTo("InvalidArgument"));
            Assert.That(json.GetProperty("message").GetString(), Does.StartWith("Parameter -TrainingJobName:").And.Contain("bad name!"));
            Assert.That(json.GetProperty("action").GetString(), Does.Contain("nothing was sent"));
            Assert.That(json.GetProperty("target").GetString(), Is.EqualTo("bad name!"));
            Assert.That(json.GetProperty("stopCategory").GetString(), Is.EqualTo("InvalidArgument"));
            Assert.That(json.GetProperty("stopMessage").GetString(), Does.StartWith("Parameter -TrainingJobName:"));
        });
    }

    [Test]
    public async Task MissingEndpointIsObjectNotFound()
    {
        var json = (await Pwsh.RunAsync(Prelude + """

            $get = try { Get-D2Endpoint -Local -EndpointName missing-endpoint; $null } catch { $_ }
            $job = try { Get-D2TrainingJob -Local -TrainingJobName missing-job; $null } catch { $_ }
            $result = @{ get = "$($get.CategoryInfo.Category)"; target = "$($get.TargetObject)"; action = $get.ErrorDetails.RecommendedAction; job = "$($job.CategoryInfo.Category)" }

            """ + Cleanup + "\n$result | ConvertTo-Json -Compress", TimeSpan.FromMinutes(1))).Json();
        Assert.That(json.GetProperty("get").GetString(), Is.EqualTo("ObjectNotFound"));
        Assert.That(json.GetProperty("target").GetString(), Is.EqualTo("missing-endpoint"));
        Assert.That(json.GetProperty("action").GetString(), Does.Contain("Get-"));
        Assert.That(json.GetProperty("job").GetString(), Is.EqualTo("ObjectNotFound"));
    }

    [Test]
    public async Task WhatIfOnStopRemoveAndDeploySendsNothing()
    {
        var run = await Pwsh.RunAsync(Prelude + """

            $data = New-Item -ItemType Directory (Join-Path $root data)
            Set-Content (Join-Path $data annotations.json) '{}'
            $job = Start-D2Training -Local -ConfigFile Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml -TrainingData $data -OutputPath (Join-Path $root out)
            $listed = @(Get-D2TrainingJob -Local -Status InProgress)
            $before = $server.RequestCount
            $listed | Stop-D2TrainingJob -Local -WhatIf
            Remove-D2Endpoint -Local -EndpointName some-endpoint -WhatIf
            Remove-D2Endpoint -Local -EndpointName some-endpoint -Force -WhatIf
            $job | Deploy-D2Model -Local -EndpointName some-endpoint -WhatIf
            $during = $server.RequestCount - $before
            $status = (Get-D2TrainingJob -Local -TrainingJobName $job.TrainingJobName).TrainingJobStatus
            $result = @{ during = $during; listed = $listed.Count; status = "$status"; name = $job.TrainingJobName }

            """ + Cleanup + "\n$result | ConvertTo-Json -Compress", TimeSpan.FromMinutes(1));
        var json = run.Json();
        Assert.That(json.GetProperty("listed").GetInt32(), Is.EqualTo(1));
        Assert.That(json.GetProperty("during").GetInt64(), Is.Zero, "-WhatIf requests counted at the server");
        Assert.That(json.GetProperty("status").GetString(), Is.EqualTo("InProgress"));
        Assert.That(run.Output, Does.Contain("What if: Performing the operation \"StopTrainingJob\" on target \"" + json.GetProperty("name").GetString()));
        Assert.That(run.Output, Does.Contain("\"some-endpoint\"").And.Contain("DeleteEndpoint"));
    }

    [Test]
    public async Task StoppingTheWaitLeavesTheJobRunning()
    {
        // PowerShell.Stop() is what Ctrl+C does to the running pipeline: it calls the cmdlet's StopProcessing.
        var json = (await Pwsh.RunAsync(Prelude + """

            $data = New-Item -ItemType Directory (Join-Path $root data)
            Set-Content (Join-Path $data annotations.json) '{}'
            $job = Start-D2Training -Local -ConfigFile Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml -TrainingData $data -OutputPath (Join-Path $root out)
            $module = (Get-Module D2.MLOps).Path
            $ps = [powershell]::Create().AddScript("Import-Module '$module'; Wait-D2TrainingJob -Local -TrainingJobName $($job.TrainingJobName)")
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $handle = $ps.BeginInvoke()
            Start-Sleep -Seconds 3
            $waiting = "$($ps.InvocationStateInfo.State)"
            $ps.Stop()
            $stopped = "$($ps.InvocationStateInfo.State)"
            $stopSeconds = $watch.Elapsed.TotalSeconds
            $timeout = try { Wait-D2TrainingJob -Local $job.TrainingJobName -Timeout 00:00:02; $null } catch { $_ }
            $status = (Get-D2TrainingJob -Local -TrainingJobName $job.TrainingJobName).TrainingJobStatus
            $result = @{ waiting = $waiting; stopped = $stopped; seconds = $stopSeconds; status = "$status"; timeout = "$($timeout.CategoryInfo.Category)"; timeoutMessage = "$timeout" }

            """ + Cleanup + "\n$result | ConvertTo-Json -Compress", TimeSpan.FromMinutes(1))).Json();
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("waiting").GetString(), Is.EqualTo("Running"));
            Assert.That(json.GetProperty("stopped").GetString(), Is.EqualTo("Stopped"));
            Assert.That(json.GetProperty("seconds").GetDouble(), Is.LessThan(10), "the wait ends promptly");
            Assert.That(json.GetProperty("status").GetString(), Is.EqualTo("InProgress"), "the job keeps running");
            Assert.That(json.GetProperty("timeout").GetString(), Is.EqualTo("OperationTimeout"));
            Assert.That(json.GetProperty("timeoutMessage").GetString(), Does.Contain("keeps running"));
        });
    }
}
