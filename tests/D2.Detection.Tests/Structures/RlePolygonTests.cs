using D2.Detection.Structures;
using static D2.Detection.Tests.Structures.MaskFixtures;

namespace D2.Detection.Tests.Structures;

/// <summary>
/// Polygon and box rasterisation (pycocotools rleFrPoly / rleFrBbox): the pixel-centre rule of spec §14.4 by hand and by
/// brute force, and strings produced by pycocotools' own maskApi.c (compiled with gcc into a throwaway driver that
/// called rleFrPoly/rleFrBbox and rleToString on exactly these inputs).
/// </summary>
public class RlePolygonTests
{
    static string[] Rasterise(double[] xy, int height, int width) =>
        Picture(Rle.FromPolygon(xy, height, width).Decode(), height, width);

    [Test]
    public void Rectangle_with_integer_corners_covers_the_pixels_whose_centres_lie_inside()
    {
        // Centres (i + .5, j + .5) inside 1 < x < 4, 1 < y < 3: columns 1..3, rows 1..2.
        double[] xy = [1, 1, 4, 1, 4, 3, 1, 3];

        var rle = Rle.FromPolygon(xy, 5, 6);

        Assert.That(Picture(rle.Decode(), 5, 6), Is.EqualTo(new[] { "......", ".###..", ".###..", "......", "......" }));
        Assert.That(rle.ToCompressedString(), Is.EqualTo("6230009")); // maskApi.c
    }

    [Test]
    public void Rectangle_with_fractional_corners_snaps_them_to_fifths_of_a_pixel()
    {
        // x in (0.7, 3.3) snaps to (0.8, 3.4): centres 1.5, 2.5 -> columns 1, 2. y in (1.2, 4.6): rows 1..4.
        double[] xy = [0.7, 1.2, 3.3, 1.2, 3.3, 4.6, 0.7, 4.6];

        var rle = Rle.FromPolygon(xy, 6, 5);

        Assert.That(Picture(rle.Decode(), 6, 5), Is.EqualTo(new[] { ".....", ".##..", ".##..", ".##..", ".##..", "....." }));
        Assert.That(rle.ToCompressedString(), Is.EqualTo("7420;")); // maskApi.c
    }

    [Test]
    public void Triangle_covers_the_pixels_below_its_hypotenuse()
    {
        // Hypotenuse x + y = 6.6 after snapping; centre sums i + j + 1 < 6.6 <=> i + j <= 5: 21 pixels.
        double[] xy = [0, 0, 6.5, 0, 0, 6.5];

        var rle = Rle.FromPolygon(xy, 8, 8);

        Assert.That(Picture(rle.Decode(), 8, 8), Is.EqualTo(new[]
        {
            "######..", "#####...", "####....", "###.....", "##......", "#.......", "........", "........",
        }));
        Assert.That(rle.Area(), Is.EqualTo(21));
        Assert.That(rle.ToCompressedString(), Is.EqualTo("062O1O1O1O1Oa0")); // maskApi.c
    }

    [Test]
    public void Self_intersecting_polygon_with_negative_coordinates_matches_pycocotools()
    {
        // A pentagram reaching outside the image (even-odd: its centre is a hole).
        double[] xy = [-1.3, 2.2, 7.9, 0.4, 3.1, 9.6, 2.2, -0.7, 8.8, 6.1];

        Assert.That(Rle.FromPolygon(xy, 9, 8).ToCompressedString(), Is.EqualTo("2180N0K183HL121O40JO3000O")); // maskApi.c
    }

    [Test]
    public void Fourteen_point_star_matches_pycocotools_string()
    {
        // Star around (40, 30), radii 22*1.3/11.3 by 22/11.3, in a 60x80 image; many runs exercise delta coding.
        double[] xy =
        [
            68.46, 32.2, 52.53, 35.89, 55.51, 48.48, 41.82, 41.21, 30.88, 50.85, 29.74, 38.09, 13.12, 37.52,
            25.38, 28.87, 15.6, 18.52, 32.03, 20.51, 36.45, 8.17, 44.68, 19.29, 59.98, 14.26, 53.81, 26.14,
        ];

        var rle = Rle.FromPolygon(xy, 60, 80);

        Assert.That(rle.ToCompressedString(), Is.EqualTo( // maskApi.c
            "ai01k10O1O1@NUO3k0OSO1m00QO1o00oN1Q10nN0R11lN0U10iN1W10gN1Y190000000009H2K1N2N2O2M23M2N2N3M2N201N10O001N101O0O2O" +
            "001NFVODj01TO08Kc03XO1T1NnN2R1LQO3o0KSO4m0KVO4Y10001O0O2O0000]g0"));
        Assert.That(rle.Area(), Is.EqualTo(984));
        Assert.That(rle.ToBbox(), Is.EqualTo(new double[] { 13, 8, 54, 42 }));
    }

    [Test]
    public void Random_polygons_follow_the_pixel_centre_rule_away_from_their_boundary()
    {
        // Spec §14.4: on when the centre is inside the polygon with vertices snapped to fifths; the traced boundary
        // is itself quantised to the 1/5 grid, so pixels whose centre lies within 0.25 px of an edge may go either way.
        var random = new Random(4);
        var checkedPixels = 0;
        for (var trial = 0; trial < 200; trial++)
        {
            int h = random.Next(1, 30), w = random.Next(1, 30), k = random.Next(3, 9);
            var xy = new double[2 * k];
            for (var j = 0; j < k; j++)
            {
                xy[2 * j] = random.NextDouble() * (w + 6) - 3;
                xy[2 * j + 1] = random.NextDouble() * (h + 6) - 3;
            }
            var snapped = SnapToFifths(xy);

            var mask = Rle.FromPolygon(xy, h, w).Decode();

            for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                if (DistanceToBoundary(snapped, x + 0.5, y + 0.5) < 0.25) continue;
                checkedPixels++;
                Assert.That(mask[y * w + x] == 1, Is.EqualTo(Inside(snapped, x + 0.5, y + 0.5)),
                    $"trial {trial}, pixel ({x}, {y}), polygon [{string.Join(", ", xy)}] in {h}x{w}");
            }
        }
        Assert.That(checkedPixels, Is.GreaterThan(10_000));
    }

    [Test]
    public void Polygon_orientation_and_starting_vertex_do_not_change_the_mask()
    {
        double[] xy = [1.3, 0.6, 7.7, 2.1, 5.2, 6.8, 0.4, 4.4];
        double[] reversed = [0.4, 4.4, 5.2, 6.8, 7.7, 2.1, 1.3, 0.6];
        double[] rotated = [5.2, 6.8, 0.4, 4.4, 1.3, 0.6, 7.7, 2.1];

        var expected = Rle.FromPolygon(xy, 8, 9).Counts;

        Assert.That(Rle.FromPolygon(reversed, 8, 9).Counts, Is.EqualTo(expected));
        Assert.That(Rle.FromPolygon(rotated, 8, 9).Counts, Is.EqualTo(expected));
    }

    [Test]
    public void FromBbox_rasterises_the_box_as_its_corner_polygon()
    {
        // x 1.25..4.75 -> columns 1..4; y 2.5..4.5 snaps to 2.6..4.6 -> rows 3, 4.
        var rle = Rle.FromBbox(1.25, 2.5, 3.5, 2.0, 6, 7);

        Assert.That(Picture(rle.Decode(), 6, 7), Is.EqualTo(new[] { ".......", ".......", ".......", ".####..", ".####..", "......." }));
        Assert.That(rle.ToCompressedString(), Is.EqualTo("924000009")); // maskApi.c
    }

    [Test]
    public void FromPolygons_takes_the_union_of_overlapping_parts()
    {
        double[] left = [0, 0, 3, 0, 3, 2, 0, 2];
        double[] right = [2, 1, 5, 1, 5, 3, 2, 3];

        var rle = Rle.FromPolygons([left, right], 4, 5);

        Assert.That(Picture(rle.Decode(), 4, 5), Is.EqualTo(new[] { "###..", "#####", "..###", "....." }));
    }

    [Test]
    public void FromPolygons_without_polygons_is_an_empty_mask()
    {
        var rle = Rle.FromPolygons([], 3, 4);

        Assert.That(rle.Counts, Is.EqualTo(new uint[] { 12 }));
    }

    [Test]
    public void FromPolygon_rejects_a_dangling_coordinate()
    {
        var error = Assert.Throws<ArgumentException>(() => Rle.FromPolygon([1, 2, 3, 4, 5], 4, 4));

        Assert.That(error!.Message, Does.Contain("5 coordinates"));
    }

    [Test]
    public void FromPolygon_rejects_non_finite_coordinates()
    {
        var error = Assert.Throws<ArgumentException>(() => Rle.FromPolygon([0, 0, double.NaN, 1, 2, 2], 4, 4));

        Assert.That(error!.Message, Does.Contain("coordinate 2").And.Contain("finite"));
    }
}
