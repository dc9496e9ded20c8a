using D2.Detection.Config;
using D2.Detection.Data;
using D2.Detection.Data.Transforms;
using D2.Detection.Structures;
using SkiaSharp;
using static D2.Detection.Tests.DataPipeline.ImageFixtures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.DataPipeline;

/// <summary>Detectron2's DatasetMapper: image, augmentation, and training targets with crowd and empty instances removed.</summary>
public class DatasetMapperTests
{
    TempFolder _folder = null!;
    string _file = null!;

    [SetUp]
    public void WriteImage()
    {
        _folder = new TempFolder();
        _file = _folder.Write("40x60.png", Encode(Noise(40, 60, 5), 40, 60, SKEncodedImageFormat.Png));
    }

    [TearDown]
    public void DeleteImage() => _folder.Dispose();

    // Resize to half (short edge 40 -> 20: 20 x 30), then always flip horizontally.
    static DatasetMapper HalveAndFlip(bool masks, string maskFormat = "polygon", bool isTrain = true) =>
        new(isTrain, [new ResizeShortestEdge([20], 1000, ShortEdgeSampling.Choice), new RandomFlip(1.0)], "BGR", masks, maskFormat);

    DatasetRecord Record(params DatasetAnnotation[] annotations) => new(_file, 40, 60, 7, annotations);

    static readonly DatasetAnnotation Kept = new([10, 10, 30, 20], 1, Polygons: [[10, 10, 30, 10, 30, 20, 10, 20]]);
    static readonly DatasetAnnotation Crowd = new([0, 0, 5, 5], 2, IsCrowd: true, Polygons: [[0, 0, 5, 0, 5, 5]]);
    static readonly DatasetAnnotation ZeroWidth = new([40, 10, 40, 30], 3, Polygons: [[40, 10, 41, 10, 41, 30]]);
    static readonly DatasetAnnotation NoPolygons = new([0, 0, 10, 10], 4, Polygons: []);

    [Test]
    public void Training_targets_drop_crowd_and_empty_instances_and_follow_the_transforms()
    {
        var input = HalveAndFlip(masks: true).Map(Record(Kept, Crowd, ZeroWidth, NoPolygons), new Random(0));
        using var scope = NewDisposeScope();
        var instances = input.Instances!;

        Assert.That(input.Image.shape, Is.EqualTo(new long[] { 3, 20, 30 }));
        Assert.That((input.Height, input.Width), Is.EqualTo(((int?)40, (int?)60)));
        Assert.That(instances.ImageSize, Is.EqualTo((20, 30)));
        Assert.That(instances.Length, Is.EqualTo(1));
        Assert.That(instances.Get<Tensor>("gt_classes").data<long>().ToArray(), Is.EqualTo(new long[] { 1 }));
        // Halved: (5, 5, 15, 10); mirrored in a 30-wide image: (15, 5, 25, 10).
        Assert.That(instances.Get<Boxes>("gt_boxes").Tensor.data<float>().ToArray(), Is.EqualTo(new float[] { 15, 5, 25, 10 }));
        var polygons = instances.Get<PolygonMasks>("gt_masks").Polygons;
        Assert.That(polygons[0][0], Is.EqualTo(new double[] { 25, 5, 15, 5, 15, 10, 25, 10 }));
        instances.Dispose();
        input.Image.Dispose();
    }

    [Test]
    public void Without_masks_only_crowd_and_boxless_instances_go()
    {
        var input = HalveAndFlip(masks: false).Map(Record(Kept, Crowd, ZeroWidth, NoPolygons), new Random(0));
        using var scope = NewDisposeScope();
        var instances = input.Instances!;

        Assert.That(instances.Get<Tensor>("gt_classes").data<long>().ToArray(), Is.EqualTo(new long[] { 1, 4 }));
        Assert.That(instances.Has("gt_masks"), Is.False);
        instances.Dispose();
        input.Image.Dispose();
    }

    [Test]
    public void Boxes_are_clipped_to_the_image_but_polygons_are_not()
    {
        var sticksOut = new DatasetAnnotation([-10, 30, 20, 50], 0, Polygons: [[-10, 30, 20, 30, 20, 50]]);
        var mapper = new DatasetMapper(true, [new ResizeShortestEdge([40], 1000, ShortEdgeSampling.Choice)], "BGR", true);

        var input = mapper.Map(Record(sticksOut), new Random(0));
        using var scope = NewDisposeScope();

        Assert.That(input.Instances!.Get<Boxes>("gt_boxes").Tensor.data<float>().ToArray(), Is.EqualTo(new float[] { 0, 30, 20, 40 }));
        Assert.That(input.Instances.Get<PolygonMasks>("gt_masks").Polygons[0][0], Is.EqualTo(new double[] { -10, 30, 20, 30, 20, 50 }));
        input.Instances.Dispose();
        input.Image.Dispose();
    }

    [Test]
    public void Bitmask_format_rasterises_polygons_and_resizes_rle_masks_to_the_augmented_image()
    {
        // An RLE covering the same rectangle as Kept's polygon, at the original size.
        var rectangle = new byte[40 * 60];
        for (var y = 10; y < 20; y++)
        {
            for (var x = 10; x < 30; x++) rectangle[y * 60 + x] = 1;
        }
        var fromRle = new DatasetAnnotation([10, 10, 30, 20], 5, Mask: Rle.Encode(rectangle, 40, 60));

        var input = HalveAndFlip(masks: true, maskFormat: "bitmask").Map(Record(Kept, fromRle), new Random(0));
        using var scope = NewDisposeScope();
        var masks = input.Instances!.Get<BitMasks>("gt_masks");

        Assert.That(masks.Tensor.shape, Is.EqualTo(new long[] { 2, 20, 30 }));
        // Both describe the rectangle x in [15, 25), y in [5, 10) after halving and mirroring.
        var expected = zeros(20, 30, ScalarType.Bool);
        expected[TensorIndex.Slice(5, 10), TensorIndex.Slice(15, 25)] = tensor(true);
        Assert.That(masks.Tensor[0].data<bool>().ToArray(), Is.EqualTo(expected.data<bool>().ToArray()), "rasterised polygon");
        Assert.That(masks.Tensor[1].data<bool>().ToArray(), Is.EqualTo(expected.data<bool>().ToArray()), "resized RLE");
        input.Instances.Dispose();
        input.Image.Dispose();
    }

    [Test]
    public void Test_time_mapping_resizes_and_drops_annotations()
    {
        var cfg = DefaultConfig.Create();
        cfg.MergeFromList(["INPUT.MIN_SIZE_TEST", "20", "INPUT.MAX_SIZE_TEST", "1000"]);

        var input = DatasetMapper.FromConfig(cfg, isTrain: false).Map(Record(Kept));
        using var scope = NewDisposeScope();

        Assert.That(input.Image.shape, Is.EqualTo(new long[] { 3, 20, 30 }));
        Assert.That(input.Instances, Is.Null);
        Assert.That((input.Height, input.Width), Is.EqualTo(((int?)40, (int?)60)));
        input.Image.Dispose();
    }

    [Test]
    public void The_image_is_the_resized_flipped_decode()
    {
        var input = HalveAndFlip(masks: false).Map(Record(Kept), new Random(0));
        using var scope = NewDisposeScope();

        var decoded = ImageDecoder.ReadImage(_file, "BGR");
        var expected = new HFlipTransform(30).ApplyImage(new ResizeTransform(40, 60, 20, 30).ApplyImage(decoded)).ToTensor();
        Assert.That(input.Image.shape, Is.EqualTo(expected.shape));
        Assert.That(input.Image.data<byte>().ToArray(), Is.EqualTo(expected.data<byte>().ToArray()));
        input.Instances!.Dispose();
        input.Image.Dispose();
    }

    [Test]
    public void Same_generator_seed_gives_the_same_augmentation()
    {
        var cfg = DefaultConfig.Create();
        cfg.MergeFromList(["INPUT.MIN_SIZE_TRAIN", "(10, 14, 18, 22, 26)", "INPUT.MAX_SIZE_TRAIN", "1000"]);
        var mapper = DatasetMapper.FromConfig(cfg, isTrain: true);
        using var scope = NewDisposeScope();

        float[] Boxes(int seed)
        {
            var input = mapper.Map(Record(Kept), new Random(seed));
            var boxes = input.Instances!.Get<Boxes>("gt_boxes").Tensor.data<float>().ToArray();
            return [.. input.Image.shape.Select(s => (float)s), .. boxes];
        }

        var first = Boxes(1);
        var again = Boxes(1);
        Assert.That(again, Is.EqualTo(first));
        Assert.That(Enumerable.Range(0, 12).Select(Boxes).Select(b => string.Join(",", b)).Distinct().Count(), Is.GreaterThan(3));
    }

    [Test]
    public void A_record_whose_size_disagrees_with_its_image_fails_naming_the_file()
    {
        var wrong = new DatasetRecord(_file, 41, 60, 7, []);

        Assert.That(() => HalveAndFlip(masks: false).Map(wrong, new Random(0)),
            Throws.TypeOf<ImageDecodeException>().With.Message.Contains(_file));
    }

    [Test]
    public void Polygon_format_rejects_rle_annotations_with_the_file_name()
    {
        var rleOnly = new DatasetAnnotation([10, 10, 30, 20], 5, Mask: Rle.Encode(new byte[40 * 60], 40, 60));

        Assert.That(() => HalveAndFlip(masks: true).Map(Record(rleOnly), new Random(0)),
            Throws.InvalidOperationException.With.Message.Contains(_file).And.Message.Contains("bitmask"));
    }
}
