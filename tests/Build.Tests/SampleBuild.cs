using D2.Build.Engine;

namespace D2.Build.Tests;

public enum Flavor { Plain, Fancy }

/// <summary>A small target graph for the engine tests; each target records that it ran.</summary>
public sealed class SampleBuild : BuildBase
{
    public List<string> Ran { get; } = [];

    [Parameter("A string")] public string? Greeting;
    [Parameter("An enum")] public Flavor Flavor = Flavor.Plain;
    [Parameter("A number")] public int Repeat = 1;
    [Parameter("A switch")] public bool Loud;
    [Parameter("A secret", Secret = true)] public string? ApiToken;

    public bool FailPack { get; set; }

    Target Clean => _ => _.Description("clean").Before(Restore).Executes(() => Ran.Add("Clean"));
    Target Restore => _ => _.Description("restore").Executes(() => Ran.Add("Restore"));
    Target Lint => _ => _.Description("lint").After(Compile).Executes(() => Ran.Add("Lint"));
    Target Compile => _ => _.Description("compile").DependsOn(Restore).Executes(() => Ran.Add("Compile"));
    Target Pack => _ => _.Description("pack").DependsOn(Compile).Executes(() =>
    {
        Ran.Add("Pack");
        if (FailPack) throw new BuildFailedException("pack broke");
    });
    Target Publish => _ => _.Description("publish").DependsOn(Pack).Executes(async () =>
    {
        await Task.Yield();
        Ran.Add("Publish");
    });
}

public sealed class CyclicBuild : BuildBase
{
    Target A => _ => _.DependsOn(B);
    Target B => _ => _.DependsOn(A);
}
