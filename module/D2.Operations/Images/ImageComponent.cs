namespace D2.Operations.Images;

/// <summary>One of the two images built per architecture: its Dockerfile (context: the repository root) and ECR repository.</summary>
public sealed record ImageComponent(string Name, string Dockerfile, string Repository)
{
    public static ImageComponent Trainer { get; } = new("trainer", "trainer/Dockerfile", "d2-trainer");

    public static ImageComponent Serving { get; } = new("serving", "serving/Dockerfile", "d2-serving");

    public static IReadOnlyList<ImageComponent> All { get; } = [Trainer, Serving];
}
