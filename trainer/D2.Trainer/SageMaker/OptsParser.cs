using D2.SageMaker.Contract;

namespace D2.Trainer.SageMaker;

/// <summary>The <c>opts</c> hyperparameter as Detectron2's KEY VALUE list (<see cref="TrainerOpts"/>); a malformed one is
/// the job's input error.</summary>
internal static class OptsParser
{
    /// <exception cref="JobInputException">unbalanced quotes or brackets, or an odd number of tokens</exception>
    public static IReadOnlyList<string> Parse(string opts)
    {
        try
        {
            return TrainerOpts.Split(opts);
        }
        catch (FormatException e)
        {
            throw new JobInputException(e.Message, e);
        }
    }
}
