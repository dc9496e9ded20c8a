@{
    RootModule           = 'D2.MLOps.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0b1f53-2a8e-4b7e-9b8a-3d0e5b2f7c41'
    Author               = 'D2 MLOps team'
    Description          = 'Train and serve Detectron2-style detectors on Amazon SageMaker (or the local SageMaker) from PowerShell.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('D2.MLOps.format.ps1xml')
    # Exactly the cmdlet classes (a test compares them); no wildcards.
    CmdletsToExport      = @(
        'Deploy-D2Model'
        'Get-D2Endpoint'
        'Get-D2GpuArchitecture'
        'Get-D2TrainingJob'
        'Invoke-D2Endpoint'
        'Remove-D2Endpoint'
        'Start-D2LocalSageMaker'
        'Start-D2Training'
        'Stop-D2LocalSageMaker'
        'Stop-D2TrainingJob'
        'Wait-D2TrainingJob'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
}
