#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '6.0.0' }
# Pester 6 specification of the module as an operator meets it: the local SageMaker runs a stand-in trainer
# (bash printing Detectron2's CommonMetricPrinter lines), so every cmdlet is exercised over real HTTP in seconds.
# Run by PesterSuiteTests (NUnit) with $env:D2_MLOPS_MODULE pointing at the built module's manifest.

BeforeAll {
    Import-Module $env:D2_MLOPS_MODULE -Force
    $script:root = Join-Path ([IO.Path]::GetTempPath()) ("d2-pester-" + [guid]::NewGuid().ToString('N'))
    # A trainer that logs two metric lines 2 s apart and exits 0, as `d2 train` would at iterations 10 and 20 of 40.
    $trainer = 'echo " eta: 0:00:30  iter: 9  total_loss: 1.234  loss_cls: 0.5  lr: 0.001"; sleep 2; ' +
               'echo " eta: 0:00:10  iter: 19  total_loss: 0.987  loss_cls: 0.4  lr: 0.001"; sleep 2'
    $script:server = Start-D2LocalSageMaker -Root $root -TrainingCommand bash, -c, $trainer
    $script:data = New-Item -ItemType Directory (Join-Path $root data)
    Set-Content (Join-Path $data annotations.json) '{}'
    $script:common = @{ Local = $true; ConfigFile = 'Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml'; TrainingData = "$data"; OutputPath = (Join-Path $root out) }
}

AfterAll {
    Stop-D2LocalSageMaker
    Remove-Item -Recurse -Force $root -ErrorAction SilentlyContinue
}

Describe 'The module' {
    It 'exports the eleven D2 cmdlets and nothing else' {
        $names = (Get-Module D2.MLOps).ExportedCommands.Keys | Sort-Object
        $names | Should -HaveCount 11
        $names | Should -Contain 'Start-D2Training'
        $names | Should -Contain 'Deploy-D2Model'
        (Get-Module D2.MLOps).ExportedFunctions.Count | Should -Be 0
    }

    It 'asks before changing anything: <Name> supports -WhatIf with ConfirmImpact <Impact>' -ForEach @(
        @{ Name = 'Start-D2Training'; Impact = 'Medium' }
        @{ Name = 'Stop-D2TrainingJob'; Impact = 'Medium' }
        @{ Name = 'Deploy-D2Model'; Impact = 'Medium' }
        @{ Name = 'Remove-D2Endpoint'; Impact = 'High' }
    ) {
        $command = Get-Command $Name
        $command.Parameters.Keys | Should -Contain 'WhatIf'
        $attribute = $command.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
        "$($attribute.ConfirmImpact)" | Should -Be $Impact
    }

    It 'reads only what it is asked for: Get-* and Wait-* change nothing' {
        foreach ($name in 'Get-D2TrainingJob', 'Get-D2Endpoint', 'Wait-D2TrainingJob', 'Get-D2GpuArchitecture') {
            (Get-Command $name).Parameters.Keys | Should -Not -Contain 'WhatIf' -Because "$name only reads"
        }
    }
}

Describe 'Get-D2GpuArchitecture' {
    It 'maps <InstanceType> to the <Expected> image' -ForEach @(
        @{ InstanceType = 'ml.p3.16xlarge'; Expected = 'volta' }
        @{ InstanceType = 'ml.g5.xlarge'; Expected = 'ampere' }
        @{ InstanceType = 'ml.p4d.24xlarge'; Expected = 'ampere' }
    ) {
        (Get-D2GpuArchitecture -InstanceType $InstanceType).Name | Should -Be $Expected
    }

    It 'refuses an instance family no image serves, as InvalidArgument' {
        $failure = { Get-D2GpuArchitecture -InstanceType ml.trn1.32xlarge } | Should -Throw -PassThru
        $failure.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $failure.FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,Get-D2GpuArchitecture*'
    }
}

Describe 'Training on the local SageMaker' {
    It 'shows the job on -WhatIf and sends nothing' {
        $before = $server.RequestCount
        Start-D2Training @common -WhatIf
        $server.RequestCount | Should -Be $before
    }

    It 'names the parameter at fault before sending anything' {
        $before = $server.RequestCount
        $failure = { Start-D2Training @common -InstanceCount 0 } | Should -Throw -PassThru
        $failure.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $failure.ErrorDetails.Message | Should -Match 'InstanceCount'
        $server.RequestCount | Should -Be $before
    }

    It 'waits with the trainer''s iteration and total_loss, then returns the completed job' {
        $job = Start-D2Training @common -Opts 'SOLVER.MAX_ITER 40'
        $job.TrainingJobStatus | Should -BeIn 'InProgress', 'Completed'
        $records = Wait-D2TrainingJob -Local -TrainingJobName $job.TrainingJobName -Verbose 4>&1
        $finished = $records | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $lines = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $finished.TrainingJobStatus | Should -Be 'Completed'
        $lines -match 'iter 20/40  total_loss 0\.987  eta 00:00:10' | Should -Not -BeNullOrEmpty -Because 'the last metric line is shown'
    }

    It 'finds the job by status and binds it down the pipeline by name' {
        $job = Start-D2Training @common -JobName pester-stop
        $listed = @(Get-D2TrainingJob -Local -Status InProgress | Where-Object TrainingJobName -EQ $job.TrainingJobName)
        $listed | Should -HaveCount 1
        $listed | Stop-D2TrainingJob -Local -Confirm:$false
        (Wait-D2TrainingJob -Local -TrainingJobName $job.TrainingJobName -Timeout 00:01:00).TrainingJobStatus | Should -Be 'Stopped'
    }

    It 'reports a missing job as ObjectNotFound with the name as target' {
        $failure = { Get-D2TrainingJob -Local -TrainingJobName no-such-job } | Should -Throw -PassThru
        $failure.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failure.TargetObject | Should -Be 'no-such-job'
    }
}

Describe 'Deploy-D2Model with a deployment profile' {
    BeforeAll {
        $script:profilePath = Join-Path $root 'deployment-profile.json'
        @{ endpointName = 'from-profile'; instanceType = 'ml.g5.xlarge'; image = '123456789012.dkr.ecr.us-east-1.amazonaws.com/d2-serving:1.0-ampere'
           roleArn = 'arn:aws:iam::123456789012:role/SageMaker'; modelDataUrl = 's3://bucket/model.tar.gz' } | ConvertTo-Json | Set-Content $profilePath
    }

    It 'takes the profile, lets parameters override it, and sends nothing on -WhatIf' {
        $before = $server.RequestCount
        $transcript = Join-Path $root 'whatif.txt'
        Start-Transcript -Path $transcript | Out-Null
        Deploy-D2Model -Local -ProfilePath $profilePath -InstanceType ml.g5.2xlarge -WhatIf
        Stop-Transcript | Out-Null
        $server.RequestCount | Should -Be $before
        Get-Content -Raw $transcript | Should -Match 'What if: .*Deploy s3://bucket/model\.tar\.gz on 1 x ml\.g5\.2xlarge .*on target "from-profile"'
    }

    It 'names the profile field at fault' {
        @{ instanceType = 'ml.g5.xlarge'; modelDataUrl = 's3://bucket/model.tar.gz' } | ConvertTo-Json | Set-Content (Join-Path $root bad.json)
        $failure = { Deploy-D2Model -ProfilePath (Join-Path $root bad.json) } | Should -Throw -PassThru
        $failure.CategoryInfo.Category | Should -Be 'InvalidArgument'
        "$failure" | Should -Match 'endpointName'
    }
}
