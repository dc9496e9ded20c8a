using System.Formats.Tar;
using System.IO.Compression;

namespace D2.Operations.Local;

/// <summary>Copying channel/checkpoint data and packing/unpacking artifacts, the parts of S3 staging done locally.</summary>
internal static class LocalFiles
{
    /// <summary>Copies a file or a folder's contents into <paramref name="destinationFolder"/> (a file keeps its name,
    /// as an S3 object key below the prefix would).</summary>
    public static void CopyInto(string source, string destinationFolder)
    {
        Directory.CreateDirectory(destinationFolder);
        if (File.Exists(source))
        {
            File.Copy(source, Path.Combine(destinationFolder, Path.GetFileName(source)), overwrite: true);
            return;
        }
        if (!Directory.Exists(source))
            throw new DirectoryNotFoundException($"'{source}' does not exist.");
        CopyChanged(source, destinationFolder);
    }

    /// <summary>Copies files of <paramref name="source"/> that are missing or differ (size or time) in
    /// <paramref name="destination"/>; nothing is deleted, as SageMaker's checkpoint upload never deletes.</summary>
    public static int CopyChanged(string source, string destination)
    {
        var copied = 0;
        if (!Directory.Exists(source))
            return copied;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            var from = new FileInfo(file);
            var to = new FileInfo(target);
            if (to.Exists && to.Length == from.Length && to.LastWriteTimeUtc >= from.LastWriteTimeUtc)
                continue;
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var temp = target + ".copying";
            try
            {
                File.Copy(file, temp, overwrite: true);
                File.Move(temp, target, overwrite: true);
                copied++;
            }
            catch (IOException)
            {
                // The process may be rewriting or deleting the file right now; the next sync picks it up.
                File.Delete(temp);
            }
        }
        return copied;
    }

    /// <summary>Packs the contents of <paramref name="folder"/> (paths relative to it, as SageMaker's model.tar.gz)
    /// into a gzipped tar written to a temporary name and renamed.</summary>
    public static void PackTarGz(string folder, string tarGzPath)
    {
        Directory.CreateDirectory(folder);
        Directory.CreateDirectory(Path.GetDirectoryName(tarGzPath)!);
        var temp = tarGzPath + ".tmp";
        using (var file = File.Create(temp))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: false))
        {
            foreach (var directory in Directory.EnumerateDirectories(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, Relative(folder, directory) + "/"));
            foreach (var path in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                tar.WriteEntry(path, Relative(folder, path));
        }
        File.Move(temp, tarGzPath, overwrite: true);
    }

    /// <summary>Extracts a .tar.gz (or plain .tar) into <paramref name="folder"/>; a folder source is copied instead.</summary>
    public static void ExtractModel(string source, string folder)
    {
        Directory.CreateDirectory(folder);
        if (Directory.Exists(source))
        {
            CopyChanged(source, folder);
            return;
        }
        using var file = File.OpenRead(source);
        var gzipped = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
        file.Position = 0;
        using Stream stream = gzipped ? new GZipStream(file, CompressionMode.Decompress) : file;
        TarFile.ExtractToDirectory(stream, folder, overwriteFiles: true);
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');
}
