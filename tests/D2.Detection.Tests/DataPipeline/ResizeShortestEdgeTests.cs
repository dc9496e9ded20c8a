using D2.Detection.Data;
using D2.Detection.Data.Transforms;

namespace D2.Detection.Tests.DataPipeline;

/// <summary>Detectron2's ResizeShortestEdge: output sizes, sampling, and Pillow-identical resampling of the pixels.</summary>
public class ResizeShortestEdgeTests
{
    // Hand-computed from spec §3.1: scale = s / short side, then clamp the long side to max_size, then int(x + 0.5).
    [TestCase(480, 640, 800, 1333, 800, 1067)]   // 640 * 800/480 = 1066.67
    [TestCase(640, 480, 800, 1333, 1067, 800)]
    [TestCase(1000, 500, 800, 1333, 1333, 667)]  // (1600, 800) is too long: * 1333/1600 -> (1333, 666.5625)
    [TestCase(500, 2000, 800, 1333, 333, 1333)]  // (800, 3200) * 1333/3200 -> (333.25, 1333)
    [TestCase(4, 5, 2, 1000, 2, 3)]              // 2.5 rounds up, as int(2.5 + 0.5) does
    [TestCase(100, 100, 50, 1000, 50, 50)]
    [TestCase(300, 400, 600, 1000, 600, 800)]    // upscaling
    public void Output_shape_matches_hand_computed_sizes(int height, int width, int shortEdge, int maxSize, int expectedH, int expectedW)
    {
        Assert.That(ResizeShortestEdge.GetOutputShape(height, width, shortEdge, maxSize), Is.EqualTo((expectedH, expectedW)));
    }

    [Test]
    public void Choice_sampling_draws_every_listed_length_and_nothing_else()
    {
        var resize = new ResizeShortestEdge([640, 672, 704], 1333, ShortEdgeSampling.Choice);
        var random = new Random(3);

        var shortEdges = Enumerable.Range(0, 300)
            .Select(_ => ((ResizeTransform)resize.GetTransform(500, 600, random)).NewHeight)
            .ToHashSet();

        Assert.That(shortEdges, Is.EquivalentTo(new[] { 640, 672, 704 }));
    }

    [Test]
    public void Range_sampling_draws_integers_between_both_ends_inclusive()
    {
        var resize = new ResizeShortestEdge([10, 13], 1000, ShortEdgeSampling.Range);
        var random = new Random(4);

        var shortEdges = Enumerable.Range(0, 300)
            .Select(_ => ((ResizeTransform)resize.GetTransform(40, 30, random)).NewWidth)
            .ToHashSet();

        Assert.That(shortEdges, Is.EquivalentTo(new[] { 10, 11, 12, 13 }));
    }

    [Test]
    public void Same_seed_draws_the_same_sizes()
    {
        var resize = new ResizeShortestEdge([640, 672, 704, 736, 768, 800], 1333, ShortEdgeSampling.Choice);
        int[] Draw(int seed)
        {
            var random = new Random(seed);
            return Enumerable.Range(0, 20).Select(_ => ((ResizeTransform)resize.GetTransform(480, 640, random)).NewHeight).ToArray();
        }

        var first = Draw(9);
        var again = Draw(9);
        Assert.That(again, Is.EqualTo(first));
        Assert.That(Draw(10), Is.Not.EqualTo(first));
    }

    [Test]
    public void Short_edge_zero_and_same_size_leave_the_image_alone()
    {
        var none = new ResizeShortestEdge([0], 1333, ShortEdgeSampling.Choice);

        Assert.That(none.GetTransform(100, 200, new Random(0)), Is.SameAs(NoOpTransform.Instance));
    }

    [Test]
    public void Range_sampling_needs_exactly_min_and_max()
    {
        Assert.That(() => new ResizeShortestEdge([640, 672, 800], 1333, ShortEdgeSampling.Range), Throws.ArgumentException);
    }

    [Test]
    public void Bilinear_downscale_is_a_triangle_filter_widened_by_the_scale()
    {
        // 4 -> 2 pixels: scale 2, support 2. Output 0 is centred at 1.0 and reads inputs 0..2 with weights
        // tri(-0.25), tri(0.25), tri(0.75) = 0.75, 0.75, 0.25 -> (0*3 + 100*3 + 200*1) / 7 = 71.4 -> 71;
        // output 1 is centred at 3.0: inputs 1..3 weighted 1, 3, 3 -> (100 + 600 + 765) / 7 = 209.3 -> 209.
        var row = new ImageBuffer([0, 100, 200, 255], 1, 4, 1);

        var resized = new ResizeTransform(1, 4, 1, 2).ApplyImage(row);

        Assert.That(resized.Pixels, Is.EqualTo(new byte[] { 71, 209 }));
    }

    // Pillow 9.4's Image.resize(BILINEAR) of the 7 x 9 RGB pattern below (values computed with Pillow, HWC hex).
    [TestCase(4, 5, "227dc446a19772c3479da153bb5f775cb74281c641ae5b64a94590755ab5a08656c7537dae4faa367acc419c85d13c90945cb7528ac557b2727ed942")]
    [TestCase(5, 12, "0c67c21c77d22e89c43e999f51acb161bc5773ce2985d53b95a54ba7ad5db97e6fc6217c3a95614aa5725cb7596dc82380db36919347a36f59b6746cc62f7cd9348fb546a16a53ae6fca2581bf3793c049a4bc5ab9576fc9367fc7348fa6449f4159b43c68c33c7ac3318cb8a48e5ab6476cc9247fd9348feb46a1b85ab56a6cc7227dd8338ee9439eb253ae6261bc17d22d88e33e99b752ad5d63be7075d04e89e43f9ab54ba6565db86871cc4785e03b93ee49")]
    [TestCase(7, 4, "136ec9429db976d133a5a15b3b96be6bc634a1a557d02b865eb9148eab44c6277c9751ac86e13cb86a6e9345a01c77d2a9635fd53691526fca3d9894d12c87c15ab53c90d966c14fc04faa3b83d85ab54e8be641")]
    [TestCase(3, 9, "207b9f3a95b94faa6069c47a7da23398bc4eac6362c67d7ca436916fbb348b9b50a0b056bb6171c23b879c519d4d5cb76070bc3e8a9abe5074db3691964ca7ad63be5b80db3792914ea9a867c2547ed934")]
    public void Bilinear_resize_reproduces_pillow_byte_for_byte(int newHeight, int newWidth, string pillowHex)
    {
        var resized = new ResizeTransform(7, 9, newHeight, newWidth).ApplyImage(Pattern());

        Assert.That(Convert.ToHexStringLower(resized.Pixels), Is.EqualTo(pillowHex));
    }

    [Test]
    public void Bilinear_upscale_reproduces_pillow_byte_for_byte()
    {
        const string pillowHex =
            "005bb60e69c4207bd6318ce7429df853ae6965c01b76d12c87e23d98f34eaaa560b8136e146fca2580db3792b846a1705ab5836ac54b7cd7328fd8459e7d54b17f67c26578cf2a852e89a4409bb652ad8061bc1776d12c86b93c97b24dacaf62ba2d70ce2984c73a95ab46a148a30b57b21a69c4277bd6318de8439f6255b11967c32979d5328be7429d9e54af1563be62bd1874cf2a86e13c96dd4cac7562bc3872cb2681c636915f4ba65a5bb64b6ec92580db7cd7328eb144a1a257b19e67c7367dd7328dc5419c8852ad2167c21a75d02b86bf3d989996e44ca65c5cb8136ecb2681de3994e94ca79b5eb91671cc2883de348fe2419c8f51ac07b04b66c33679d6318ce5409bf550ab9265c04578d32c87e23c97f24faa8d61bc3f6ec924ca2580dc3792c44aa58c5bb69e6cc75a80db3792c1439e8655b09769c4547dd8338ae540de3994ee49a4a25db81570cb2984df3c97f24ba6a156b10c6ac5207dd83391ec47a1fc57";

        var resized = new ResizeTransform(7, 9, 10, 12).ApplyImage(Pattern());

        Assert.That(Convert.ToHexStringLower(resized.Pixels), Is.EqualTo(pillowHex));
    }

    // Pillow 9.4's Image.resize(NEAREST) of the 7 x 9 greyscale image whose pixel (y, x) is y * 9 + x.
    [TestCase(4, 5, "0002040608121416181a2426282a2c36383a3c3e")]
    [TestCase(3, 13, "090a0a0b0c0c0d0e0e0f1010111b1c1c1d1e1e1f2020212222232d2e2e2f303031323233343435")]
    [TestCase(10, 12, "000101020304040506070708090a0a0b0c0d0d0e0f101011090a0a0b0c0d0d0e0f10101112131314151616171819191a1b1c1c1d1e1f1f20212222231b1c1c1d1e1f1f202122222324252526272828292a2b2b2c2d2e2e2f30313132333434352d2e2e2f303131323334343536373738393a3a3b3c3d3d3e")]
    public void Segmentation_resize_is_pillow_nearest(int newHeight, int newWidth, string pillowHex)
    {
        var labels = new ImageBuffer(Enumerable.Range(0, 63).Select(i => (byte)i).ToArray(), 7, 9, 1);

        var resized = new ResizeTransform(7, 9, newHeight, newWidth).ApplySegmentation(labels);

        Assert.That(Convert.ToHexStringLower(resized.Pixels), Is.EqualTo(pillowHex));
    }

    // The 7 x 9 x 3 test pattern: (y*37 + x*23 + c*91 + (x*y*7) % 13) % 256.
    static ImageBuffer Pattern()
    {
        var pixels = new byte[7 * 9 * 3];
        for (var y = 0; y < 7; y++)
        {
            for (var x = 0; x < 9; x++)
            {
                for (var c = 0; c < 3; c++) pixels[(y * 9 + x) * 3 + c] = (byte)((y * 37 + x * 23 + c * 91 + x * y * 7 % 13) % 256);
            }
        }
        return new ImageBuffer(pixels, 7, 9, 3);
    }
}
