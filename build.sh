#!/usr/bin/env bash
# Bootstrap, in NUKE's shape: check the SDK pinned in global.json, build the build project, run it with the arguments.
#   ./build.sh [targets...] [--skip [targets...]] [--plan] [--help] [--parameter value...]
set -eo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_PROJECT="$ROOT/build/_build.csproj"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export NUKE_TELEMETRY_OPTOUT=1

required_sdk="$(sed -n 's/.*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$ROOT/global.json" | head -n1)"
if ! command -v dotnet >/dev/null 2>&1; then
    echo "build.sh: error: the .NET SDK is not installed (dotnet is not on PATH); this repository needs SDK $required_sdk (global.json)." >&2
    exit 1
fi
if ! (cd "$ROOT" && dotnet --version >/dev/null 2>&1); then
    echo "build.sh: error: the .NET SDK $required_sdk named in global.json (or a later patch) is not installed." >&2
    echo "Installed SDKs:" >&2
    dotnet --list-sdks >&2 || true
    echo "Install SDK $required_sdk, or change global.json if you mean to move the repository to another SDK." >&2
    exit 1
fi

# The build project's own compile is shown only when it fails.
build_log="$(mktemp)"
trap 'rm -f "$build_log"' EXIT
if ! dotnet build "$BUILD_PROJECT" -nologo -v quiet -tl:off -nodeReuse:false -p:UseSharedCompilation=false >"$build_log" 2>&1; then
    cat "$build_log" >&2
    echo "build.sh: error: the build project (build/_build.csproj) does not compile." >&2
    exit 1
fi
dotnet run --project "$BUILD_PROJECT" --no-build --no-launch-profile -- "$@"
