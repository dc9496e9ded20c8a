using D2.Detection.Evaluation;

namespace D2.Detection.Tests.Evaluation;

/// <summary>COCOeval.stats pinned from the real pycocotools: 2.0.11 (github.com/ppwwyyxx/cocoapi, the PyPI source)
/// built from source with Cython and numpy 1.24.2 (Debian 12) on 2026-11-24, run as
/// <c>E = COCOeval(gt, gt.loadRes(results), iouType); E.evaluate(); E.accumulate(); E.summarize()</c>
/// on the JSON that <see cref="PycocotoolsCases"/> writes. Our numbers agreed to the last bit, so the tolerance
/// only leaves room for a different summation order.</summary>
public class PycocotoolsReferenceTests
{
    const double Tolerance = 1e-12;

    static readonly object[] Cases =
    [
        new object[] { "boxes", CocoIouType.Bbox, new[] { 0.1279768187208869, 0.2211916722549391, 0.13956797146973585, 0.1410394823006647, 0.14202454044672777, 0.14939977514234942, 0.2665945512820513, 0.5195283362470862, 0.5584466054778556, 0.540340909090909, 0.5616269841269841, 0.465 } },
        new object[] { "boxes-crowded-id0", CocoIouType.Bbox, new[] { 0.1228505744371137, 0.19938506969923897, 0.14436529159640438, 0.187650139630337, 0.12965613366714657, 0.2401347014400688, 0.22727272727272724, 0.5053129984051037, 0.553987240829346, 0.6043939393939394, 0.4890588578088578, 0.7125 } },
        new object[] { "edge-cases", CocoIouType.Bbox, new[] { 0.42728010896327717, 0.43569595054743565, 0.43569595054743565, 0.4938387794823438, 0.3915841584158416, 1.0, 0.2833333333333334, 0.9166666666666666, 0.9166666666666666, 0.9166666666666666, 1.0, 1.0 } },
        new object[] { "masks-with-boxes", CocoIouType.Bbox, new[] { 0.08741110236198685, 0.15337224121058354, 0.10643985066083632, 0.10525039988667546, 0.13217946753230042, 0.03688686464105646, 0.23482789855072467, 0.5324849033816424, 0.541135265700483, 0.4497222222222222, 0.580506993006993, 0.4666666666666667 } },
        new object[] { "masks-with-boxes", CocoIouType.Segm, new[] { 0.038975497663147396, 0.09447294034346557, 0.01856342711350006, 0.039964764613018906, 0.07043785311255114, 0.02092076312894447, 0.13383454106280193, 0.3093266908212561, 0.31693538647343, 0.22000000000000003, 0.36454795204795204, 0.26666666666666666 } },
        new object[] { "masks-only", CocoIouType.Bbox, new[] { 0.08852129785619985, 0.22760558490202334, 0.02262771499012307, 0.09747139066898688, 0.09998535735489572, 0.08921892189218922, 0.15665996888773656, 0.2902619335695561, 0.3168910062512603, 0.29917027417027414, 0.347093837535014, 0.26666666666666666 } },
        new object[] { "masks-only", CocoIouType.Segm, new[] { 0.08824748082011226, 0.1942001439301431, 0.0673768214752703, 0.09764146558239895, 0.09970831569827385, 0.091996699669967, 0.1543884855817705, 0.29114272750842624, 0.32722251029873534, 0.290981240981241, 0.37209383753501407, 0.3 } },
    ];

    static (CocoDataset GroundTruth, CocoResults Results) Load(string name)
    {
        var (groundTruth, results) = PycocotoolsCases.All[name]();
        var dataset = CocoDataset.Parse(groundTruth, name + "/gt.json");
        return (dataset, CocoResults.Parse(results, dataset, name + "/dt.json"));
    }

    [TestCaseSource(nameof(Cases))]
    public void Evaluate_matches_pycocotools_stats(string name, CocoIouType iouType, double[] expected)
    {
        var (groundTruth, results) = Load(name);

        var evaluation = CocoEvaluator.Evaluate(groundTruth, results, iouType);

        Assert.That(evaluation.Stats, Is.EqualTo(expected).Within(Tolerance));
    }

    [Test]
    public void Metrics_match_detectron2_derived_from_pycocotools()
    {
        // Detectron2's _derive_coco_results applied to the same pycocotools run: percent, NaN for -1, and
        // AP-<name> from precision[:, :, k, area all, maxDets 100] (NaN for a category without ground truth).
        var (groundTruth, results) = Load("edge-cases");

        var metrics = CocoMetrics.From(CocoEvaluator.Evaluate(groundTruth, results, CocoIouType.Bbox), groundTruth);

        var expected = new Dictionary<string, double>
        {
            ["AP"] = 42.72801089632772, ["AP50"] = 43.569595054743566, ["AP75"] = 43.569595054743566,
            ["APs"] = 49.38387794823438, ["APm"] = 39.15841584158416, ["APl"] = 100.0,
            ["AP-a"] = 60.001571585729984, ["AP-onlycrowd"] = double.NaN, ["AP-nogt"] = double.NaN, ["AP-b"] = 25.45445020692545,
        };
        Assert.That(metrics.Values.Select(v => v.Key), Is.EqualTo(expected.Keys));
        foreach (var (name, value) in expected)
            Assert.That(metrics[name], double.IsNaN(value) ? Is.NaN : Is.EqualTo(value).Within(1e-10), name);
    }
}
