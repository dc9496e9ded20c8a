using D2.Trainer.SageMaker;

namespace D2.Trainer.Tests.SageMaker;

public class HyperparametersTests
{
    string _dir = "";

    [SetUp]
    public void CreateDir() => _dir = Directory.CreateTempSubdirectory("d2-hp-").FullName;

    [TearDown]
    public void DeleteDir() => Directory.Delete(_dir, recursive: true);

    Hyperparameters Load(string json)
    {
        var path = Path.Combine(_dir, "hyperparameters.json");
        File.WriteAllText(path, json);
        return Hyperparameters.Load(path);
    }

    [Test]
    public void Values_are_json_decoded_as_the_training_toolkit_does_with_the_raw_string_as_fallback()
    {
        // The Python SDK sends the string abc as "\"abc\"" and numbers as their JSON text; the console sends raw strings.
        var hp = Load("""
            {"config-file": "\"COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml\"", "opts": "SOLVER.MAX_ITER 500", "resume": "false",
             "seed": "7", "eval_only": "true", "sagemaker_program": "ignored", "sagemaker_region": "\"eu-west-1\""}
            """);
        Assert.Multiple(() =>
        {
            Assert.That(hp.Get(TrainerHyperParameters.ConfigFile), Is.EqualTo("COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml"));
            Assert.That(hp.Get(TrainerHyperParameters.Opts), Is.EqualTo("SOLVER.MAX_ITER 500"));
            Assert.That(hp.GetBool(TrainerHyperParameters.Resume, true), Is.False);
            Assert.That(hp.GetBool(TrainerHyperParameters.EvalOnly, false), Is.True, "underscore spelling accepted");
            Assert.That(hp.GetInt(TrainerHyperParameters.Seed), Is.EqualTo(7));
            Assert.That(hp.Values.Keys, Has.None.StartsWith("sagemaker"));
        });
    }

    [Test]
    public void A_json_list_of_opts_becomes_the_space_separated_form()
    {
        var hp = Load("""{"opts": "[\"SOLVER.MAX_ITER\", \"5\", \"MODEL.DEVICE\", \"cpu\"]"}""");
        Assert.That(hp.Get(TrainerHyperParameters.Opts), Is.EqualTo("SOLVER.MAX_ITER 5 MODEL.DEVICE cpu"));
    }

    [Test]
    public void Unknown_keys_and_bad_values_name_the_key()
    {
        var e = Assert.Throws<JobInputException>(() => Load("""{"config-fille": "x"}"""))!;
        Assert.That(e.Message, Does.Contain("unknown hyperparameter 'config-fille'").And.Contain("config-file"));
        var hp = Load("""{"resume": "maybe", "seed": "1.5"}""");
        Assert.That(Assert.Throws<JobInputException>(() => hp.GetBool(TrainerHyperParameters.Resume, true))!.Message, Does.Contain("'resume'").And.Contain("maybe"));
        Assert.That(Assert.Throws<JobInputException>(() => hp.GetInt(TrainerHyperParameters.Seed))!.Message, Does.Contain("'seed'"));
        Assert.That(Assert.Throws<JobInputException>(() => Load("{not json"))!.Message, Does.Contain("hyperparameters.json").And.Contain("not valid JSON"));
    }

    [Test]
    public void The_trainer_accepts_exactly_the_contracts_hyperparameters()
    {
        // Every name of the contract's one list loads, in both spellings...
        var all = TrainerHyperParameters.All;
        var json = new System.Text.Json.Nodes.JsonObject();
        foreach (var name in all)
            json[name] = "x";
        Assert.That(Load(json.ToJsonString()).Values.Keys, Is.EquivalentTo(all));
        var underscored = new System.Text.Json.Nodes.JsonObject();
        foreach (var name in all)
            underscored[name.Replace('-', '_')] = "x";
        Assert.That(Load(underscored.ToJsonString()).Values.Keys, Is.EquivalentTo(all));

        // ...every hyperparameter constant of the contract is on the list (a name without a description cannot slip past it)...
        var constants = typeof(TrainerHyperParameters).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Where(f => f.Name is not (nameof(TrainerHyperParameters.TrainingChannel) or nameof(TrainerHyperParameters.ValidationChannel) or nameof(TrainerHyperParameters.ReservedPrefix)))
            .Select(f => (string)f.GetRawConstantValue()!);
        Assert.That(all, Is.EquivalentTo(constants));

        // ...and a name one character off is refused, the error naming exactly that list.
        var error = Assert.Throws<JobInputException>(() => Load("""{"config-files": "x"}"""))!.Message;
        Assert.That(error, Does.Contain("'config-files'").And.Contain("Known hyperparameters: " + string.Join(", ", all) + "."));
    }

    [Test]
    public void The_same_key_in_both_spellings_is_an_error()
    {
        Assert.That(Assert.Throws<JobInputException>(() => Load("""{"eval-only": "true", "eval_only": "false"}"""))!.Message, Does.Contain("twice"));
    }
}
