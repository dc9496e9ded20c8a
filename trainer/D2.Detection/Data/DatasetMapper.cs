using D2.Detection.Config;
using D2.Detection.Data.Transforms;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Data;

/// <summary>
/// Detectron2's <c>DatasetMapper</c> (spec §3): turns a <see cref="DatasetRecord"/> into a <see cref="ModelInput"/>:
/// read the image, augment it (training: resize then flip; test: resize), and in training turn the non-crowd
/// annotations into "gt_boxes", "gt_classes" and (with masks on) "gt_masks", transformed with the image.
/// </summary>
/// <remarks>
/// Thread-safe: the mapper holds no state beyond its settings, and all randomness comes from the
/// <see cref="Random"/> passed to <see cref="Map(DatasetRecord, Random)"/>, so a loader can map on several threads
/// and still get the same result for the same seed.
/// </remarks>
public sealed class DatasetMapper
{
    // Detectron2's filter_empty_instances default box threshold.
    const double EmptyBoxThreshold = 1e-5;

    readonly Random _ownRandom;

    /// <param name="isTrain">keep annotations and build training targets; at test time they are dropped</param>
    /// <param name="augmentations">applied in order (Detectron2: ResizeShortestEdge, then RandomFlip in training)</param>
    /// <param name="imageFormat">channel order of the image tensor: "BGR" or "RGB" (INPUT.FORMAT)</param>
    /// <param name="useInstanceMask">build "gt_masks" (MODEL.MASK_ON)</param>
    /// <param name="instanceMaskFormat">"polygon" (PolygonMasks) or "bitmask" (BitMasks) (INPUT.MASK_FORMAT)</param>
    /// <param name="seed">seed of the generator <see cref="Map(DatasetRecord)"/> uses when no generator is passed</param>
    public DatasetMapper(bool isTrain, IEnumerable<IAugmentation> augmentations, string imageFormat = "BGR",
        bool useInstanceMask = false, string instanceMaskFormat = "polygon", int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(augmentations);
        ImageDecoder.CheckFormat(imageFormat);
        if (instanceMaskFormat is not ("polygon" or "bitmask"))
            throw new ArgumentException($"INPUT.MASK_FORMAT '{instanceMaskFormat}' is not supported; use \"polygon\" or \"bitmask\".", nameof(instanceMaskFormat));
        IsTrain = isTrain;
        Augmentations = new AugmentationList(augmentations);
        ImageFormat = imageFormat;
        UseInstanceMask = useInstanceMask;
        InstanceMaskFormat = instanceMaskFormat;
        _ownRandom = new Random(seed);
    }

    public bool IsTrain { get; }

    public AugmentationList Augmentations { get; }

    public string ImageFormat { get; }

    public bool UseInstanceMask { get; }

    public string InstanceMaskFormat { get; }

    /// <summary>Detectron2's <c>DatasetMapper.from_config</c> with <c>build_augmentation</c>.</summary>
    /// <param name="seed">seed of the generator used by <see cref="Map(DatasetRecord)"/> (loaders pass their own)</param>
    public static DatasetMapper FromConfig(CfgNode cfg, bool isTrain, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        if (cfg.Get<bool>("INPUT.CROP.ENABLED"))
            throw new NotSupportedException("INPUT.CROP.ENABLED True asks for random crop augmentation, which this port does not implement; set it to False.");
        var augmentations = new List<IAugmentation> { ResizeShortestEdge.FromConfig(cfg, isTrain) };
        if (isTrain && RandomFlip.FromConfig(cfg) is { } flip) augmentations.Add(flip);
        return new DatasetMapper(isTrain, augmentations, cfg.Get<string>("INPUT.FORMAT"),
            cfg.Get<bool>("MODEL.MASK_ON"), cfg.Get<string>("INPUT.MASK_FORMAT"), seed);
    }

    /// <summary>Maps with the mapper's own seeded generator (calls are serialised on it).</summary>
    public ModelInput Map(DatasetRecord record)
    {
        lock (_ownRandom) return Map(record, _ownRandom);
    }

    /// <summary>Maps one record; <paramref name="random"/> is the only source of randomness (resize choice, flip).</summary>
    /// <returns>image (3, H', W') uint8 after augmentation; training targets; the record's original height and width</returns>
    /// <exception cref="ImageDecodeException">the image cannot be read or has another size than the record says</exception>
    public ModelInput Map(DatasetRecord record, Random random)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(random);
        var original = ImageDecoder.ReadImage(record.FileName, ImageFormat);
        ImageDecoder.CheckImageSize(record, original);
        var (image, transforms) = Augmentations.Apply(original, random);
        var height = record.Height > 0 ? record.Height : original.Height;
        var width = record.Width > 0 ? record.Width : original.Width;

        // At test time Detectron2 drops the annotations: the evaluator reads them from the dataset.
        var instances = IsTrain ? AnnotationsToInstances(record, transforms, (original.Height, original.Width), (image.Height, image.Width)) : null;
        return new ModelInput(image.ToTensor(), instances, height, width);
    }

    /// <summary>
    /// Detectron2's transform_instance_annotations + annotations_to_instances + filter_empty_instances: crowd
    /// annotations are discarded, boxes transformed and clipped, polygons transformed (not clipped), masks built in
    /// INPUT.MASK_FORMAT, and instances whose box has no area or whose mask is empty removed.
    /// </summary>
    Instances AnnotationsToInstances(DatasetRecord record, TransformList transforms, (int Height, int Width) originalSize, (int Height, int Width) imageSize)
    {
        var annotations = record.Annotations.Where(a => !a.IsCrowd).ToList();
        var boxes = new double[annotations.Count * 4];
        var classes = new long[annotations.Count];
        for (var i = 0; i < annotations.Count; i++)
        {
            var box = transforms.ApplyBox(annotations[i].BboxXyxy);
            boxes[4 * i] = Math.Clamp(box[0], 0, imageSize.Width);
            boxes[4 * i + 1] = Math.Clamp(box[1], 0, imageSize.Height);
            boxes[4 * i + 2] = Math.Clamp(box[2], 0, imageSize.Width);
            boxes[4 * i + 3] = Math.Clamp(box[3], 0, imageSize.Height);
            classes[i] = annotations[i].CategoryId;
        }

        using var scope = NewDisposeScope();
        var instances = new Instances(imageSize);
        var gtBoxes = new Boxes(tensor(boxes, [annotations.Count, 4]));
        instances.Set("gt_boxes", gtBoxes);
        instances.Set("gt_classes", tensor(classes, [annotations.Count], ScalarType.Int64));
        // As in Detectron2, whether masks are built is decided by the first (non-crowd) annotation.
        var keep = gtBoxes.Nonempty(EmptyBoxThreshold);
        if (UseInstanceMask && annotations.Count > 0 && HasSegmentation(annotations[0]))
        {
            IInstanceField masks = InstanceMaskFormat == "polygon"
                ? PolygonMasksOf(record, annotations, transforms)
                : BitMasksOf(record, annotations, transforms, originalSize, imageSize);
            instances.Set("gt_masks", masks);
            keep = keep.logical_and(masks is PolygonMasks p ? p.Nonempty() : ((BitMasks)masks).Nonempty());
        }
        return instances.Index(keep).MoveToOuterDisposeScope();
    }

    static bool HasSegmentation(DatasetAnnotation annotation) => annotation.Polygons is not null || annotation.Mask is not null;

    static PolygonMasks PolygonMasksOf(DatasetRecord record, List<DatasetAnnotation> annotations, TransformList transforms)
    {
        var perInstance = new List<IEnumerable<IReadOnlyList<double>>>(annotations.Count);
        for (var i = 0; i < annotations.Count; i++)
        {
            var polygons = annotations[i].Polygons ?? throw new InvalidOperationException(
                $"Failed to use mask_format=='polygon' for '{record.FileName}': annotation {i} " +
                (annotations[i].Mask is null ? "has no segmentation" : "has an RLE mask, not polygons") +
                " (set INPUT.MASK_FORMAT bitmask for RLE masks).");
            perInstance.Add(polygons.Select(p => (IReadOnlyList<double>)transforms.ApplyPolygon(p)).ToList());
        }
        return new PolygonMasks(perInstance);
    }

    static BitMasks BitMasksOf(DatasetRecord record, List<DatasetAnnotation> annotations, TransformList transforms,
        (int Height, int Width) originalSize, (int Height, int Width) imageSize)
    {
        var (h, w) = imageSize;
        var data = new byte[(long)annotations.Count * h * w];
        for (var i = 0; i < annotations.Count; i++)
        {
            var annotation = annotations[i];
            byte[] mask;
            if (annotation.Polygons is { } polygons)
            {
                // Polygons are transformed first and rasterised at the new size (Detectron2's polygons_to_bitmask).
                mask = Rle.FromPolygons(polygons.Select(p => (IReadOnlyList<double>)transforms.ApplyPolygon(p)).ToList(), h, w).Decode();
            }
            else if (annotation.Mask is { } rle)
            {
                if ((rle.Height, rle.Width) != originalSize)
                    throw new InvalidOperationException(
                        $"Annotation {i} of '{record.FileName}' has a {rle.Height}x{rle.Width} RLE mask but the image is {originalSize.Height}x{originalSize.Width}.");
                // RLE masks are decoded at the original size and resized with nearest, as Detectron2's apply_segmentation.
                mask = transforms.ApplySegmentation(new ImageBuffer(rle.Decode(), rle.Height, rle.Width, 1)).Pixels;
            }
            else
            {
                throw new InvalidOperationException($"Annotation {i} of '{record.FileName}' has no segmentation while annotation 0 has one.");
            }
            mask.CopyTo(data, (long)i * h * w);
        }
        return new BitMasks(tensor(data, [annotations.Count, h, w]));
    }

    public override string ToString() =>
        $"DatasetMapper(is_train={IsTrain}, augmentations={Augmentations}, image_format={ImageFormat}, " +
        $"use_instance_mask={UseInstanceMask}, instance_mask_format={InstanceMaskFormat})";
}
