namespace D2.SageMaker.Contract.Tests;

/// <summary>The /opt/ml layout of SageMaker's training and hosting contracts, moved as the training toolkit moves it.</summary>
public class SageMakerPathsTests
{
    static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Test]
    public void Without_SAGEMAKER_BASE_DIR_the_tree_is_SageMakers_opt_ml()
    {
        var paths = SageMakerPaths.FromEnvironment(Env());
        Assert.Multiple(() =>
        {
            Assert.That(paths.BaseDirectory, Is.EqualTo("/opt/ml"));
            Assert.That(paths.HyperparametersFile, Is.EqualTo("/opt/ml/input/config/hyperparameters.json"));
            Assert.That(paths.ResourceConfigFile, Is.EqualTo("/opt/ml/input/config/resourceconfig.json"));
            Assert.That(paths.InputDataConfigFile, Is.EqualTo("/opt/ml/input/config/inputdataconfig.json"));
            Assert.That(paths.Channel("training"), Is.EqualTo("/opt/ml/input/data/training"));
            Assert.That(paths.ModelDirectory, Is.EqualTo("/opt/ml/model"));
            Assert.That(paths.OutputDataDirectory, Is.EqualTo("/opt/ml/output/data"));
            Assert.That(paths.IntermediateOutputDirectory, Is.EqualTo("/opt/ml/output/intermediate"));
            Assert.That(paths.FailureFile, Is.EqualTo("/opt/ml/output/failure"));
            Assert.That(paths.CheckpointDirectory, Is.EqualTo("/opt/ml/checkpoints"));
            Assert.That(paths.CodeDirectory, Is.EqualTo("/opt/ml/code"));
            Assert.That(paths.Rebase("/opt/ml/input/data/model/model_final.pth"), Is.EqualTo("/opt/ml/input/data/model/model_final.pth"));
        });
    }

    [Test]
    public void SAGEMAKER_BASE_DIR_moves_the_whole_tree_and_container_paths_with_it()
    {
        var paths = SageMakerPaths.FromEnvironment(Env(("SAGEMAKER_BASE_DIR", "/tmp/job/opt/ml")));
        Assert.Multiple(() =>
        {
            Assert.That(paths.BaseDirectory, Is.EqualTo("/tmp/job/opt/ml"));
            Assert.That(paths.HyperparametersFile, Is.EqualTo("/tmp/job/opt/ml/input/config/hyperparameters.json"));
            Assert.That(paths.ModelDirectory, Is.EqualTo("/tmp/job/opt/ml/model"));
            Assert.That(paths.FailureFile, Is.EqualTo("/tmp/job/opt/ml/output/failure"));
            // A hyperparameter written for the real container works in the moved tree; other paths stay as given.
            Assert.That(paths.Rebase("/opt/ml/input/data/model/model_final.pth"), Is.EqualTo("/tmp/job/opt/ml/input/data/model/model_final.pth"));
            Assert.That(paths.Rebase("/opt/mlx/a"), Is.EqualTo("/opt/mlx/a"));
            Assert.That(paths.Rebase("model/model_final.pth"), Is.EqualTo("model/model_final.pth"));
        });
    }

    [Test]
    public void SM_variables_move_single_paths_and_empty_values_are_unset()
    {
        var paths = SageMakerPaths.FromEnvironment(Env(
            ("SAGEMAKER_BASE_DIR", ""), ("SM_MODEL_DIR", "/models/m"), ("SM_OUTPUT_DATA_DIR", "/out"), ("SM_CHANNEL_TRAINING", "/data/train")));
        Assert.Multiple(() =>
        {
            Assert.That(paths.BaseDirectory, Is.EqualTo("/opt/ml"), "an empty SAGEMAKER_BASE_DIR is unset");
            Assert.That(paths.ModelDirectory, Is.EqualTo("/models/m"));
            Assert.That(paths.OutputDataDirectory, Is.EqualTo("/out"));
            Assert.That(paths.Channel("training"), Is.EqualTo("/data/train"));
            Assert.That(paths.Channel("validation"), Is.EqualTo("/opt/ml/input/data/validation"));
        });
        Assert.That(SageMakerEnvironment.Channel("validation"), Is.EqualTo("SM_CHANNEL_VALIDATION"));
    }

    [Test]
    public void A_hosts_tree_ignores_the_hosts_own_variables()
    {
        // The local SageMaker prepares a job's tree; its own SM_MODEL_DIR (if any) must not move that job's model folder.
        var paths = SageMakerPaths.Under("/srv/jobs/a/opt/ml");
        Assert.That(paths.ModelDirectory, Is.EqualTo("/srv/jobs/a/opt/ml/model"));
        Assert.That(SageMakerPaths.IsContainerPath("/opt/ml/checkpoints"), Is.True);
        Assert.That(SageMakerPaths.IsContainerPath("/opt/ml"), Is.False, "the base itself is not a path under it");
        Assert.That(SageMakerPaths.IsContainerPath("/tmp/checkpoints"), Is.False);
    }

    [Test]
    public void A_training_job_is_recognised_by_its_hyperparameters_file()
    {
        var root = Directory.CreateTempSubdirectory("d2-contract-").FullName;
        try
        {
            var paths = new SageMakerPaths(root, Env());
            Assert.That(paths.IsTrainingJob, Is.False);
            Directory.CreateDirectory(paths.ConfigDirectory);
            File.WriteAllText(paths.HyperparametersFile, "{}");
            Assert.That(paths.IsTrainingJob, Is.True);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
