namespace D2.Detection.Evaluation;

/// <summary>The ground truths and detections of one (image, category) pair: pycocotools' <c>_gts[img, cat]</c>
/// (file order) and <c>_dts[img, cat]</c> sorted by score, highest first (stable, as numpy's mergesort), cut to
/// the largest maxDets.</summary>
internal sealed record CocoCell(int ImageIndex, int[] GroundTruths, int[] Detections);

/// <summary>pycocotools' <c>COCOeval._prepare</c>: the ground truths and detections of the evaluated images and
/// categories, grouped per category and image, with their ids, areas, crowd flags and geometry for IoU.</summary>
internal sealed class CocoEvalSet
{
    readonly CocoDataset _groundTruth;
    readonly CocoResults _results;
    readonly List<CocoCell>[] _cellsByCategory;
    readonly CocoMaskSource? _masks;

    public CocoEvalSet(CocoDataset groundTruth, CocoResults results, CocoEvalParams parameters)
    {
        _groundTruth = groundTruth;
        _results = results;
        Params = parameters;
        if (parameters.IouType == CocoIouType.Segm && results.Detections.Count > 0 && !results.HasSegmentation)
            throw new CocoFormatException(results.Source, "segm evaluation needs a \"segmentation\" in every result, and some have none");
        // Masks give segm IoU, and the areas (and missing boxes) of results made of masks alone.
        if (parameters.IouType == CocoIouType.Segm || !results.IsBoxResults)
            _masks = new CocoMaskSource(groundTruth, results);

        var imageIndex = new Dictionary<long, int>();
        for (var i = 0; i < parameters.ImageIds.Count; i++)
            imageIndex[parameters.ImageIds[i]] = i;
        var categoryIndex = new Dictionary<long, int>();
        for (var k = 0; k < parameters.CategoryIds.Count; k++)
            categoryIndex[parameters.CategoryIds[k]] = k;

        // Cells keyed by (category, image); members appended in file order, as pycocotools' defaultdict(list).
        var cells = new Dictionary<(int Category, int Image), (List<int> Gts, List<int> Dts)>();
        (List<int> Gts, List<int> Dts) CellOf(int k, int i)
        {
            if (!cells.TryGetValue((k, i), out var cell))
                cells[(k, i)] = cell = ([], []);
            return cell;
        }
        for (var g = 0; g < groundTruth.Annotations.Count; g++)
        {
            var annotation = groundTruth.Annotations[g];
            if (imageIndex.TryGetValue(annotation.ImageId, out var i) && categoryIndex.TryGetValue(annotation.CategoryId, out var k))
                CellOf(k, i).Gts.Add(g);
        }
        for (var d = 0; d < results.Detections.Count; d++)
        {
            var detection = results.Detections[d];
            if (imageIndex.TryGetValue(detection.ImageId, out var i) && categoryIndex.TryGetValue(detection.CategoryId, out var k))
                CellOf(k, i).Dts.Add(d);
        }

        var maxDetections = parameters.MaxDetections[^1];
        _cellsByCategory = [.. Enumerable.Range(0, parameters.CategoryIds.Count).Select(_ => new List<CocoCell>())];
        foreach (var ((k, i), (gts, dts)) in cells)
        {
            // OrderByDescending is stable, like np.argsort(-scores, kind='mergesort').
            var ranked = dts.OrderByDescending(d => results.Detections[d].Score).Take(maxDetections).ToArray();
            _cellsByCategory[k].Add(new CocoCell(i, [.. gts], ranked));
        }
        foreach (var list in _cellsByCategory)
            list.Sort((a, b) => a.ImageIndex.CompareTo(b.ImageIndex));
    }

    public CocoEvalParams Params { get; }

    /// <summary>The cells of category index <paramref name="k"/> in ascending image id order (pycocotools' imgIds).</summary>
    public IReadOnlyList<CocoCell> CellsOf(int k) => _cellsByCategory[k];

    public long GroundTruthId(int g) => _groundTruth.Annotations[g].Id;

    public double GroundTruthArea(int g) => _groundTruth.Annotations[g].Area;

    public bool IsCrowd(int g) => _groundTruth.Annotations[g].IsCrowd;

    public double Score(int d) => _results.Detections[d].Score;

    /// <summary>loadRes' area: the box's w*h for box results, else the mask's pixel count.</summary>
    public double DetectionArea(int d)
    {
        if (_results.IsBoxResults)
        {
            var box = _results.Detections[d].Bbox!;
            return box[2] * box[3];
        }
        return _masks!.DetectionArea(d);
    }

    /// <summary>IoU of every detection with every ground truth of <paramref name="cell"/>.</summary>
    /// <returns>[d * G + g] in the cell's detection and ground-truth order; empty when either side is empty.</returns>
    public double[] Ious(CocoCell cell)
    {
        if (cell.GroundTruths.Length == 0 || cell.Detections.Length == 0)
            return [];
        var crowd = cell.GroundTruths.Select(IsCrowd).ToArray();
        if (Params.IouType == CocoIouType.Segm)
            return _masks!.Ious(cell.Detections, cell.GroundTruths, crowd);
        return CocoBoxIou.Compute(
            [.. cell.Detections.Select(DetectionBox)],
            [.. cell.GroundTruths.Select(GroundTruthBox)],
            crowd);
    }

    double[] GroundTruthBox(int g) => _groundTruth.Annotations[g].Bbox ?? throw new CocoFormatException(_groundTruth.Source,
        $"annotation id {_groundTruth.Annotations[g].Id} has no \"bbox\", which bbox evaluation needs");

    // loadRes keeps a result's own box; results made of masks alone get the mask's bounding box.
    double[] DetectionBox(int d) => _results.Detections[d].Bbox is { Length: 4 } box
        ? box
        : _masks!.DetectionBox(d);
}
