using System.Management.Automation;
using System.Text;
using D2.MLOps.Help;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsLifecycle.Invoke, "D2Endpoint")]
[OutputType(typeof(PSObject), typeof(FileInfo))]
[CmdletHelp("Sends an image to an endpoint and returns its detections or its overlay.",
    "Calls SageMaker Runtime InvokeEndpoint with the image in -InFile. With -Accept application/json (the default) the answer comes back as objects (instances with boxes, scores, classes and class names); with -Accept image/png it is the image with the detections drawn. -OutFile writes the answer's bytes to a file and returns the file.")]
[HelpExample("Invoke-D2Endpoint -Local -EndpointName balloons -InFile ./balloon.jpg",
    "Returns the detections of one image.")]
[HelpExample("Get-D2Endpoint balloons | Invoke-D2Endpoint -InFile ./balloon.jpg -Accept image/png -OutFile ./overlay.png",
    "Writes the overlay PNG of one image.")]
public sealed class InvokeD2Endpoint : AwsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The endpoint's name.")]
    public string EndpointName { get; set; } = "";

    [Parameter(Mandatory = true, HelpMessage = "The image to send (JPEG or PNG).")]
    public string InFile { get; set; } = "";

    [Parameter(HelpMessage = "The answer's type: application/json (detections) or image/png (overlay).")]
    [ValidateSet("application/json", "image/png")]
    public string Accept { get; set; } = "application/json";

    [Parameter(HelpMessage = "The request's content type (default: from -InFile's extension).")]
    public string? ContentType { get; set; }

    [Parameter(HelpMessage = "Write the answer's bytes to this file and return the file.")]
    public string? OutFile { get; set; }

    protected override void ProcessRecord()
    {
        var input = GetUnresolvedProviderPathFromPSPath(InFile);
        var contentType = ContentType ?? (Path.GetExtension(input).ToLowerInvariant() is ".png" ? "image/png" : "image/jpeg");
        var body = File.Exists(input) ? File.ReadAllBytes(input)
            : throw new RuntimeException($"-InFile '{input}' does not exist.", null,
                new ErrorRecord(new FileNotFoundException(input), "InFileNotFound", ErrorCategory.ObjectNotFound, InFile));
        var answer = Run(token => Context.Endpoints.InvokeAsync(EndpointName, body, contentType, Accept, token), EndpointName);
        if (OutFile is not null)
        {
            var output = GetUnresolvedProviderPathFromPSPath(OutFile);
            File.WriteAllBytes(output, answer.Body);
            WriteObject(new FileInfo(output));
        }
        else if (answer.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) ?? Accept == "application/json")
        {
            // PowerShell's own JSON reader, so the objects are what ConvertFrom-Json gives (PSCustomObject, arrays).
            WriteObject(InvokeCommand.InvokeScript(false, ScriptBlock.Create("param($json) ConvertFrom-Json -InputObject $json"), null,
                Encoding.UTF8.GetString(answer.Body)), enumerateCollection: true);
        }
        else
        {
            WriteObject(answer.Body, enumerateCollection: false);
        }
    }
}
