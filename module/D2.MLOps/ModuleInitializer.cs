using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace D2.MLOps;

/// <summary>
/// pwsh runs on Microsoft.NETCore.App alone; the local SageMaker (Kestrel) needs Microsoft.AspNetCore.App, the shared
/// framework installed beside it. Resolve those assemblies from there, same major version as the running runtime.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    public void OnImport() => AssemblyLoadContext.Default.Resolving += ResolveAspNetCore;

    private static Assembly? ResolveAspNetCore(AssemblyLoadContext context, AssemblyName name)
    {
        if (name.Name is not { } simple || !simple.StartsWith("Microsoft.", StringComparison.Ordinal))
        {
            return null;
        }

        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var shared = Path.GetDirectoryName(Path.GetDirectoryName(runtime))!;
        var major = Environment.Version.Major + ".";
        var aspNet = Path.Combine(shared, "Microsoft.AspNetCore.App");
        if (!Directory.Exists(aspNet))
        {
            return null;
        }

        var candidate = Directory.EnumerateDirectories(aspNet)
            .Where(d => Path.GetFileName(d).StartsWith(major, StringComparison.Ordinal))
            .OrderByDescending(d => Version.TryParse(Path.GetFileName(d).Split('-')[0], out var v) ? v : new Version())
            .Select(d => Path.Combine(d, simple + ".dll"))
            .FirstOrDefault(File.Exists);
        return candidate is null ? null : context.LoadFromAssemblyPath(candidate);
    }
}
