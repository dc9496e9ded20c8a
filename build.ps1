#!/usr/bin/env pwsh
# Bootstrap, in NUKE's shape: check the SDK pinned in global.json, build the build project, run it with the arguments.
#   dotnet pwsh ./build.ps1 [targets...] [--skip [targets...]] [--plan] [--help] [--parameter value...]
[CmdletBinding()]
param([Parameter(Position = 0, Mandatory = $false, ValueFromRemainingArguments = $true)] [string[]] $BuildArguments)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = $PSScriptRoot
$buildProject = Join-Path $root 'build/_build.csproj'

$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
$env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'
$env:NUKE_TELEMETRY_OPTOUT = '1'

$requiredSdk = (Get-Content (Join-Path $root 'global.json') -Raw | ConvertFrom-Json).sdk.version
if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
    Write-Error "build.ps1: the .NET SDK is not installed (dotnet is not on PATH); this repository needs SDK $requiredSdk (global.json)."
}
Push-Location $root
try {
    & dotnet --version *> $null
    if ($LASTEXITCODE -ne 0) {
        $installed = (& dotnet --list-sdks) -join [Environment]::NewLine
        Write-Error "build.ps1: the .NET SDK $requiredSdk named in global.json (or a later patch) is not installed. Installed SDKs:$([Environment]::NewLine)$installed"
    }
}
finally { Pop-Location }

# The build project's own compile is shown only when it fails.
$buildLog = & dotnet build $buildProject -nologo -v quiet -tl:off -nodeReuse:false -p:UseSharedCompilation=false 2>&1
if ($LASTEXITCODE -ne 0) {
    $buildLog | ForEach-Object { [Console]::Error.WriteLine($_) }
    Write-Error 'build.ps1: the build project (build/_build.csproj) does not compile.'
}
& dotnet run --project $buildProject --no-build --no-launch-profile -- @BuildArguments
exit $LASTEXITCODE
