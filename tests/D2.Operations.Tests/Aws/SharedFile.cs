namespace D2.Operations.Tests.Aws;

/// <summary>Finds files of the shared reference folder, checked out beside the repository (../shared from the root).</summary>
internal static class SharedFile
{
    public static string Find(string relativePath)
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", relativePath), Path.Combine(dir.FullName, "..", "shared", relativePath) })
            {
                if (File.Exists(candidate))
                {
                    return Path.GetFullPath(candidate);
                }
            }
        }

        Assert.Ignore($"shared/{relativePath} is not checked out beside the repository.");
        return "";
    }
}
