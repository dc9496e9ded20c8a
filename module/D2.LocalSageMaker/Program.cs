using D2.LocalSageMaker;

return await LocalSageMakerCommand.Create().Parse(args).InvokeAsync();
