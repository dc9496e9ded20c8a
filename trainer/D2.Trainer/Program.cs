using System.CommandLine;
using D2.Trainer.Commands;

// libtorch's C++ warnings follow TORCH_CPP_LOG_LEVEL (ERROR when unset): without it, every conv with a batch of 16 or
// more logs "Could not initialize NNPACK!" on CPUs NNPACK does not support. Loads libc10 only.
D2.Detection.TorchLogging.Initialize();

var root = new RootCommand("d2: train, evaluate and run Detectron2-style detectors (TorchSharp), locally or as a SageMaker training container.")
{
    InfoCommand.Create(),
    EvaluateCommand.Create(),
    ModelInfoCommand.Create(),
    TrainCommand.Create(),
    PredictCommand.Create(),
    ConvertModelCommand.Create(),
    SynthBalloonsCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
