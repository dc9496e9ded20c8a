using D2.Detection.Structures;
using static D2.Detection.Tests.Structures.MaskFixtures;

namespace D2.Detection.Tests.Structures;

/// <summary>Encoding, decoding and the pycocotools string codec, against hand-worked examples and brute force.</summary>
public class RleCodecTests
{
    // The 3x4 mask (h = 3, w = 4), row-major:
    //   . # # .
    //   . # # .
    //   . . # #
    // Column-major (down each column): col0 0 0 0 | col1 1 1 0 | col2 1 1 1 | col3 0 0 1
    // = 0 0 0 1 1 0 1 1 1 0 0 1 -> runs (0s first): 3, 2, 1, 3, 2, 1 (sum 12 = h*w; area 2 + 3 + 1 = 6).
    // String: counts 0..2 are written as they are, from index 3 on minus the count two places back:
    //   3 -> 3, 2 -> 2, 1 -> 1, 3-2 = 1, 2-1 = 1, 1-3 = -2.
    //   A value v < 16 with its sign bit (0x10) clear fits one 5-bit group: char = 48 + v -> '3', '2', '1', '1', '1'.
    //   -2: low 5 bits of two's complement ...11110 = 30 (sign bit 0x10 set); shifting right by 5 leaves -1, which is
    //   exactly the sign extension of a set sign bit, so no continuation: char = 48 + 30 = 78 = 'N'.
    // Hence "32111N" (pycocotools' rleToString, confirmed with maskApi.c compiled by gcc).
    static readonly byte[] ThreeByFour = FromPicture(".##.", ".##.", "..##");

    [Test]
    public void Rle_string_matches_hand_worked_coco_example()
    {
        var rle = Rle.Encode(ThreeByFour, 3, 4);

        Assert.That(rle.Counts, Is.EqualTo(new uint[] { 3, 2, 1, 3, 2, 1 }));
        Assert.That(rle.ToCompressedString(), Is.EqualTo("32111N"));
        Assert.That(rle.Area(), Is.EqualTo(6));
        // Columns 1..3, rows 0..2.
        Assert.That(rle.ToBbox(), Is.EqualTo(new double[] { 1, 0, 3, 3 }));
    }

    [Test]
    public void Column_major_encoding_gives_the_runs_of_the_row_major_encoder()
    {
        var transposed = new byte[12];
        for (var y = 0; y < 3; y++)
            for (var x = 0; x < 4; x++)
                transposed[x * 3 + y] = ThreeByFour[y * 4 + x];
        Assert.That(Rle.EncodeColumnMajor(transposed, 3, 4).Counts, Is.EqualTo(new uint[] { 3, 2, 1, 3, 2, 1 }));

        // Brute force: random masks of every kind of start and end (on first, on last, empty, full, values other than 1).
        var random = new Random(7);
        for (var trial = 0; trial < 300; trial++)
        {
            int height = random.Next(1, 40), width = random.Next(1, 40);
            var rowMajor = new byte[height * width];
            var density = random.NextDouble();
            for (var i = 0; i < rowMajor.Length; i++)
                rowMajor[i] = trial % 10 == 0 ? (byte)0 : trial % 10 == 1 ? (byte)1 : random.NextDouble() < density ? (byte)random.Next(1, 256) : (byte)0;
            var columnMajor = new byte[rowMajor.Length];
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    columnMajor[x * height + y] = rowMajor[y * width + x];
            Assert.That(Rle.EncodeColumnMajor(columnMajor, height, width).Counts, Is.EqualTo(Rle.Encode(rowMajor, height, width).Counts), $"trial {trial}");
        }
        Assert.That(Rle.EncodeColumnMajor([], 0, 0).Counts, Is.EqualTo(Rle.Encode([], 0, 0).Counts));
    }

    /// <summary>pycocotools' rleEncode, literally: walk each column top to bottom, a new run at every change, 0s first.</summary>
    static uint[] NaiveColumnWalk(byte[] mask, int h, int w)
    {
        var runs = new List<uint>();
        var previous = false;
        uint run = 0;
        for (var x = 0; x < w; x++)
            for (var y = 0; y < h; y++)
            {
                var on = mask[y * w + x] != 0;
                if (on != previous)
                {
                    runs.Add(run);
                    run = 0;
                    previous = on;
                }
                run++;
            }
        runs.Add(run);
        return [.. runs];
    }

    [TestCase(1, 1)]
    [TestCase(1, 97)]
    [TestCase(97, 1)]
    [TestCase(130, 70)]
    [TestCase(65, 129)]
    public void Encode_gives_the_runs_of_a_plain_column_walk_on_boxed_and_scattered_masks(int h, int w)
    {
        var random = new Random(h * 1000 + w);
        for (var trial = 0; trial < 40; trial++)
        {
            var mask = new byte[h * w];
            // Pasted masks: on pixels inside a random box (any value above 0 counts as on), sometimes scattered noise,
            // sometimes touching the borders, sometimes empty.
            int y0 = random.Next(h), y1 = random.Next(y0, h), x0 = random.Next(w), x1 = random.Next(x0, w);
            var density = trial % 4 == 0 ? 0.0 : trial % 4 == 1 ? 1.0 : random.NextDouble();
            for (var y = y0; y <= y1; y++)
                for (var x = x0; x <= x1; x++)
                    if (random.NextDouble() < density)
                        mask[y * w + x] = (byte)random.Next(1, 256);
            Assert.That(Rle.Encode(mask, h, w).Counts, Is.EqualTo(NaiveColumnWalk(mask, h, w)), $"{h}x{w}, trial {trial}");
        }
    }

    [Test]
    public void Rle_string_uses_continuation_groups_for_values_with_the_sign_bit_set()
    {
        // 10x10, columns 3..5 full: runs 30, 30, 40 (no delta coding before index 3).
        // 30 = 0b11110: one group would read as negative (bit 0x10), so a second, zero group follows:
        //   first char 48 + (30 | 0x20) = 110 'n', then 48 + 0 = '0'  -> "n0" (twice).
        // 40 = 0b101000: low group 8 with continuation -> 48 + 40 = 88 'X', then 40 >> 5 = 1 -> '1'  -> "X1".
        var mask = new byte[100];
        for (var y = 0; y < 10; y++)
        for (var x = 3; x <= 5; x++)
            mask[y * 10 + x] = 1;

        var rle = Rle.Encode(mask, 10, 10);

        Assert.That(rle.Counts, Is.EqualTo(new uint[] { 30, 30, 40 }));
        Assert.That(rle.ToCompressedString(), Is.EqualTo("n0n0X1"));
    }

    [Test]
    public void Rle_string_writes_a_negative_delta_over_two_groups()
    {
        // Runs 5, 50, 2, 10: the fourth is written as 10 - 50 = -40.
        // -40 & 31 = 24 (sign bit set) and -40 >> 5 = -2 (not just sign extension): 48 + (24 | 32) = 104 'h';
        // then -2 & 31 = 30, -2 >> 5 = -1 which the set sign bit already implies: 48 + 30 = 'N'.
        // 5 -> '5'; 50 = 0b110010 -> 48 + (18 | 32) = 'b', 48 + 1 = '1'; 2 -> '2'.
        var rle = new Rle(67, 1, [5, 50, 2, 10]);

        Assert.That(rle.ToCompressedString(), Is.EqualTo("5b12hN"));
        Assert.That(Rle.FromCompressedString("5b12hN", 67, 1).Counts, Is.EqualTo(new uint[] { 5, 50, 2, 10 }));
    }

    [Test]
    public void Mask_starting_with_an_on_pixel_opens_with_an_empty_zero_run()
    {
        var rle = Rle.Encode(FromPicture("#.", "#."), 2, 2);

        Assert.That(rle.Counts, Is.EqualTo(new uint[] { 0, 2, 2 }));
        Assert.That(rle.ToCompressedString(), Is.EqualTo("022"));
    }

    [Test]
    public void Encode_then_decode_returns_random_masks_unchanged()
    {
        var random = new Random(1);
        for (var trial = 0; trial < 300; trial++)
        {
            int h = random.Next(1, 40), w = random.Next(1, 40);
            var mask = RandomMask(random, h, w);

            var rle = Rle.Encode(mask, h, w);

            Assert.That(rle.Decode(), Is.EqualTo(mask), $"trial {trial} ({h}x{w})");
            Assert.That(rle.Counts.Sum(c => (long)c), Is.EqualTo((long)h * w));
        }
    }

    [Test]
    public void Compressed_string_round_trips_random_masks()
    {
        var random = new Random(2);
        for (var trial = 0; trial < 300; trial++)
        {
            int h = random.Next(1, 60), w = random.Next(1, 60);
            var rle = Rle.Encode(RandomMask(random, h, w), h, w);

            var text = rle.ToCompressedString();
            var back = Rle.FromCompressedString(text, h, w);

            Assert.That(text.All(c => c is >= '0' and <= 'o'), Is.True, text);
            Assert.That(back.Counts, Is.EqualTo(rle.Counts), $"trial {trial}: '{text}'");
        }
    }

    [Test]
    public void Compressed_string_round_trips_counts_of_every_magnitude()
    {
        // Large and alternating counts exercise multi-group values and negative deltas of every length.
        uint[] counts = [0, 1, 31, 32, 1023, 1024, 70000, 3, 5_000_000, 16, 15, 17, 33_554_431, 1];
        var total = counts.Sum(c => (long)c);
        var rle = new Rle(1, (int)total, counts);

        Assert.That(Rle.FromCompressedString(rle.ToCompressedString(), 1, (int)total).Counts, Is.EqualTo(counts));
    }

    [Test]
    public void Area_and_bbox_match_pixel_counts_on_random_masks()
    {
        var random = new Random(3);
        for (var trial = 0; trial < 300; trial++)
        {
            int h = random.Next(1, 30), w = random.Next(1, 30);
            var mask = RandomMask(random, h, w);

            var rle = Rle.Encode(mask, h, w);

            Assert.That(rle.Area(), Is.EqualTo(CountOn(mask)), $"trial {trial}");
            // pycocotools widens the box to full height when one run crosses columns, so compare only where no
            // 1-run wraps; otherwise the box must still contain the tight one.
            var tight = PixelBbox(mask, h, w);
            var box = rle.ToBbox();
            Assert.That(box[0], Is.EqualTo(tight[0]), $"trial {trial} x");
            Assert.That(box[2], Is.EqualTo(tight[2]), $"trial {trial} w");
            Assert.That(box[1], Is.LessThanOrEqualTo(tight[1]));
            Assert.That(box[1] + box[3], Is.GreaterThanOrEqualTo(tight[1] + tight[3]));
        }
    }

    [Test]
    public void Bbox_spans_full_height_when_a_run_wraps_into_the_next_column()
    {
        // 4x3, column-major on pixels 3..4: (row 3, col 0) and (row 0, col 1). pycocotools reports rows 0..3.
        var mask = FromPicture(".#.", "...", "...", "#..");

        var rle = Rle.Encode(mask, 4, 3);

        Assert.That(rle.ToBbox(), Is.EqualTo(new double[] { 0, 0, 2, 4 }));
    }

    [Test]
    public void Empty_and_full_masks_have_the_pycocotools_forms()
    {
        var empty = Rle.Encode(new byte[6], 2, 3);
        var full = Rle.Encode(Enumerable.Repeat((byte)7, 6).ToArray(), 2, 3);

        Assert.That(empty.Counts, Is.EqualTo(new uint[] { 6 }));
        Assert.That(empty.ToBbox(), Is.EqualTo(new double[4]));
        Assert.That(full.Counts, Is.EqualTo(new uint[] { 0, 6 }));
        Assert.That(full.ToBbox(), Is.EqualTo(new double[] { 0, 0, 3, 2 }));
        Assert.That(Rle.Encode([], 0, 0).Counts, Is.EqualTo(new uint[] { 0 }));
    }

    [Test]
    public void Constructor_rejects_counts_that_do_not_cover_the_mask()
    {
        var error = Assert.Throws<ArgumentException>(() => new Rle(2, 3, [1, 2]));

        Assert.That(error!.Message, Does.Contain("sum to 3").And.Contain("2x3"));
    }

    [Test]
    public void Encode_rejects_a_mask_of_the_wrong_length()
    {
        var error = Assert.Throws<ArgumentException>(() => Rle.Encode(new byte[5], 2, 3));

        Assert.That(error!.Message, Does.Contain("5 elements").And.Contain("needs 6"));
    }

    [TestCase("32111~", "character '~'")]
    [TestCase("3211n", "ends inside a count")]
    [TestCase("32111N", "covers 12 pixels")]
    public void FromCompressedString_names_what_is_malformed(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => Rle.FromCompressedString(text, text == "32111N" ? 4 : 3, 4));

        Assert.That(error!.Message, Does.Contain(reason));
    }
}
