using System.Formats.Tar;
using System.IO.Compression;
using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;

namespace D2.Operations.Pipeline;

/// <summary>
/// A finished job's model.tar.gz and output.tar.gz brought to a local folder (file:// from the local SageMaker, s3://
/// through S3), and the files the report reads from them.
/// </summary>
public sealed record TrainingArtifacts(string ModelTarGz, string? OutputTarGz)
{
    /// <summary>Copies the job's artifacts into <paramref name="folder"/>.</summary>
    /// <exception cref="InvalidOperationException">The job uploaded no model.</exception>
    public static async Task<TrainingArtifacts> FetchAsync(OperationsContext context, DescribeTrainingJobResponse job, string folder,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(job);
        var model = job.ModelArtifacts?.S3ModelArtifacts
            ?? throw new InvalidOperationException($"Training job {job.TrainingJobName} has no model artifacts (status {job.TrainingJobStatus}).");
        Directory.CreateDirectory(folder);
        var modelPath = Path.Combine(folder, "model.tar.gz");
        await CopyAsync(context, model, modelPath, cancellationToken).ConfigureAwait(false);
        // SageMaker puts output.tar.gz (the /opt/ml/output/data folder) beside model.tar.gz.
        var output = model[..(model.LastIndexOf('/') + 1)] + "output.tar.gz";
        var outputPath = Path.Combine(folder, "output.tar.gz");
        try
        {
            await CopyAsync(context, output, outputPath, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or AwsServiceException or Amazon.S3.AmazonS3Exception)
        {
            return new TrainingArtifacts(modelPath, null);
        }
        return new TrainingArtifacts(modelPath, outputPath);
    }

    /// <summary>metrics.json from output.tar.gz, or null when the job wrote none.</summary>
    public string? ReadMetricsJson() => OutputTarGz is null ? null : ReadEntry(OutputTarGz, "metrics.json");

    /// <summary>Unpacks model.tar.gz (the /opt/ml/model folder) into <paramref name="folder"/>.</summary>
    public string ExtractModel(string folder)
    {
        Directory.CreateDirectory(folder);
        using var stream = File.OpenRead(ModelTarGz);
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        TarFile.ExtractToDirectory(gzip, folder, overwriteFiles: true);
        return folder;
    }

    private static string? ReadEntry(string tarGz, string fileName)
    {
        using var stream = File.OpenRead(tarGz);
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile
                && Path.GetFileName(entry.Name) == fileName && entry.DataStream is { } data)
            {
                using var text = new StreamReader(data);
                return text.ReadToEnd();
            }
        }
        return null;
    }

    private static async Task CopyAsync(OperationsContext context, string uri, string destination, CancellationToken cancellationToken)
    {
        if (uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            File.Copy(new Uri(uri).LocalPath, destination, overwrite: true);
            return;
        }
        using var s3 = new S3Storage(context.Options);
        await s3.DownloadFileAsync(S3Uri.Parse(uri), destination, cancellationToken).ConfigureAwait(false);
    }
}
