using System.CommandLine;
using D2.Trainer.Commands;

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
