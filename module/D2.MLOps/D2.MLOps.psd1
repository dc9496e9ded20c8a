@{
    RootModule           = 'D2.MLOps.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0b1f53-2a8e-4b7e-9b8a-3d0e5b2f7c41'
    Author               = 'D2 MLOps team'
    Description          = 'Train and serve Detectron2-style detectors on Amazon SageMaker (or the local SageMaker) from PowerShell.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    # Cmdlets arrive with the operations library; nothing is exported until they do.
    CmdletsToExport      = @()
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
}
