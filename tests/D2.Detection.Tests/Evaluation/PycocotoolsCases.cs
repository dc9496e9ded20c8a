using System.Globalization;
using System.Text;

namespace D2.Detection.Tests.Evaluation;

/// <summary>The inputs whose pycocotools results are pinned in <see cref="PycocotoolsReferenceTests"/>: ground truth
/// and results JSON, made by code so that the same text can be fed to pycocotools.</summary>
public static class PycocotoolsCases
{
    public static readonly IReadOnlyDictionary<string, Func<(string GroundTruth, string Results)>> All =
        new Dictionary<string, Func<(string, string)>>
        {
            ["boxes"] = () => SyntheticCoco.Generate(new SyntheticCocoOptions(Seed: 1)),
            ["boxes-crowded-id0"] = () => SyntheticCoco.Generate(new SyntheticCocoOptions(Seed: 2, FirstAnnotationId: 0, CrowdPercent: 25)),
            ["masks-with-boxes"] = () => SyntheticCoco.Generate(new SyntheticCocoOptions(Seed: 3, Images: 30, Masks: true)),
            ["masks-only"] = () => SyntheticCoco.Generate(new SyntheticCocoOptions(Seed: 4, Images: 30, Masks: true, ResultBoxes: false)),
            ["edge-cases"] = EdgeCases,
        };

    /// <summary>Hand-placed quirks: duplicate and zero-area ground truths, an annotation and a result of a category
    /// that is not listed, a category with only a crowd region, a category with no ground truth, empty
    /// segmentations, areas on the range edges, exact score ties, and an image with 131 detections.</summary>
    public static (string GroundTruth, string Results) EdgeCases()
    {
        const string groundTruth = """
            {"images": [{"id": 5, "height": 100, "width": 120}, {"id": 2, "height": 100, "width": 120},
                        {"id": 9, "height": 100, "width": 120}, {"id": 40, "height": 100, "width": 120},
                        {"id": 41, "height": 100, "width": 120}, {"id": 7, "height": 100, "width": 120}],
             "categories": [{"id": 3, "name": "a"}, {"id": 11, "name": "b"}, {"id": 4, "name": "onlycrowd"}, {"id": 8, "name": "nogt"}],
             "annotations": [
              {"id": 10, "image_id": 5, "category_id": 3, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0},
              {"id": 11, "image_id": 5, "category_id": 3, "bbox": [12, 12, 20, 20], "area": 400, "iscrowd": 0},
              {"id": 12, "image_id": 5, "category_id": 3, "bbox": [50, 50, 40, 40], "area": 1600, "iscrowd": 1},
              {"id": 13, "image_id": 5, "category_id": 11, "bbox": [0, 0, 32, 32], "area": 1024, "iscrowd": 0},
              {"id": 14, "image_id": 5, "category_id": 11, "bbox": [60, 10, 32, 32.5], "area": 1024, "iscrowd": 0},
              {"id": 15, "image_id": 2, "category_id": 3, "bbox": [0, 0, 0, 10], "area": 0, "iscrowd": 0},
              {"id": 16, "image_id": 2, "category_id": 3, "bbox": [30, 30, 10, 10], "area": 0, "iscrowd": 0},
              {"id": 17, "image_id": 2, "category_id": 99, "bbox": [1, 1, 5, 5], "area": 25, "iscrowd": 0},
              {"id": 18, "image_id": 9, "category_id": 4, "bbox": [10, 10, 50, 50], "area": 2500, "iscrowd": 1, "segmentation": []},
              {"id": 19, "image_id": 9, "category_id": 11, "bbox": [5, 5, 96, 96], "area": 9216, "iscrowd": 0},
              {"id": 20, "image_id": 9, "category_id": 11, "bbox": [0, 0, 96, 96.01], "area": 9216.5, "iscrowd": 0},
              {"id": 21, "image_id": 40, "category_id": 3, "bbox": [1, 1, 10, 10], "area": 100, "iscrowd": 0},
              {"id": 22, "image_id": 40, "category_id": 3, "bbox": [1, 1, 10, 10], "area": 100, "iscrowd": 0},
              {"id": 23, "image_id": 7, "category_id": 11, "bbox": [20, 20, 30, 30], "area": 900, "iscrowd": 0, "segmentation": []}]}
            """;
        var results = new StringBuilder("[");
        void Detection(long image, long category, double x, double y, double w, double h, double score)
        {
            if (results.Length > 1)
                results.Append(",\n");
            results.Append(CultureInfo.InvariantCulture,
                $$"""{"image_id": {{image}}, "category_id": {{category}}, "bbox": [{{x:R}}, {{y:R}}, {{w:R}}, {{h:R}}], "score": {{score:R}}}""");
        }
        Detection(5, 3, 10, 10, 20, 20, 0.9);
        Detection(5, 3, 11, 11, 20, 20, 0.9);
        Detection(5, 3, 12, 12, 20, 20, 0.8);
        Detection(5, 3, 55, 55, 10, 10, 0.95);
        Detection(5, 3, 52, 52, 38, 38, 0.5);
        Detection(5, 11, 0, 0, 32, 32, 0.7);
        Detection(5, 11, 60, 10, 32, 32, 0.7);
        Detection(5, 11, 100, 80, 10, 10, 0.7);
        Detection(2, 3, 0, 0, 1, 10, 0.6);
        Detection(2, 3, 30, 30, 10, 10, 0.3);
        Detection(2, 99, 1, 1, 5, 5, 0.9);
        Detection(9, 4, 10, 10, 20, 20, 0.8);
        Detection(9, 4, 80, 80, 10, 10, 0.7);
        Detection(9, 11, 5, 5, 96, 96, 0.2);
        Detection(9, 11, 0, 0, 96, 96, 0.2);
        Detection(9, 11, 3, 3, 40, 40, 0.99);
        for (var i = 0; i < 3; i++)
            Detection(40, 3, 1, 1, 10, 10, 0.4);
        Detection(41, 8, 1, 1, 10, 10, 0.4);
        Detection(41, 3, 1, 1, 100, 10, 0.45);
        Detection(7, 11, 20, 20, 30, 30, 1.0);
        Detection(7, 11, 20, 20, 30, 30, 1.0);
        for (var i = 0; i < 130; i++)
            Detection(41, 11, i * 37 % 80, i * 53 % 60, 1 + i * 11 % 40, 1 + i * 7 % 40, i * 29 % 100 / 100.0);
        Detection(41, 11, 0, 0, 33, 31, 0.001);
        results.Append(']');
        return (groundTruth, results.ToString());
    }
}
