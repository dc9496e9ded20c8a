using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Structures;

/// <summary>Detectron2 Instances semantics: equal-length named fields, indexing and concatenation across field kinds.</summary>
public class InstancesTests
{
    static Instances ThreeInstances()
    {
        var instances = new Instances((Height: 10, Width: 20));
        instances.Set("scores", tensor(new[] { 0.9f, 0.2f, 0.7f }));
        instances.Set("pred_boxes", new Boxes(tensor(new float[] { 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3 }, [3, 4])));
        instances.Set("gt_masks", new PolygonMasks([
            [[0, 0, 1, 0, 1, 1]],
            [[1, 1, 2, 1, 2, 2]],
            [[2, 2, 3, 2, 3, 3], [5, 5, 6, 5, 6, 6]],
        ]));
        instances.Set("names", new List<string> { "a", "b", "c" });
        instances.Set("ids", new[] { 10, 20, 30 });
        return instances;
    }

    [Test]
    public void Set_get_has_remove_and_length()
    {
        using var scope = NewDisposeScope();
        var instances = ThreeInstances();

        Assert.That(instances.Length, Is.EqualTo(3));
        Assert.That(instances.Has("scores"), Is.True);
        Assert.That(instances.Get<List<string>>("names")[1], Is.EqualTo("b"));
        Assert.That(instances.Remove("scores"), Is.True);
        Assert.That(instances.Has("scores"), Is.False);
        Assert.That(instances.ImageSize, Is.EqualTo((10, 20)));
    }

    [Test]
    public void Set_rejects_a_field_whose_length_disagrees()
    {
        using var scope = NewDisposeScope();
        var instances = ThreeInstances();

        var error = Assert.Throws<ArgumentException>(() => instances.Set("labels", tensor(new long[] { 1, 2 })));

        Assert.That(error!.Message, Does.Contain("'labels' has 2 entries").And.Contain("have 3"));
    }

    [Test]
    public void Get_of_a_missing_field_lists_the_fields_present()
    {
        using var scope = NewDisposeScope();

        var error = Assert.Throws<KeyNotFoundException>(() => ThreeInstances().Get("pred_masks"));

        Assert.That(error!.Message, Does.Contain("'pred_masks'").And.Contain("scores"));
    }

    [Test]
    public void Length_without_fields_is_an_error_as_in_detectron2()
    {
        Assert.Throws<InvalidOperationException>(() => _ = new Instances((1, 1)).Length);
    }

    [Test]
    public void Bool_mask_selects_the_same_instances_in_every_field()
    {
        using var scope = NewDisposeScope();
        var instances = ThreeInstances();

        var kept = instances[instances.Get<Tensor>("scores").gt(0.5)];

        Assert.That(kept.Length, Is.EqualTo(2));
        Assert.That(kept.Get<Tensor>("scores").data<float>().ToArray(), Is.EqualTo(new[] { 0.9f, 0.7f }));
        Assert.That(kept.Get<Boxes>("pred_boxes").Tensor[1, 0].item<float>(), Is.EqualTo(2f));
        Assert.That(kept.Get<PolygonMasks>("gt_masks").Polygons[1], Has.Count.EqualTo(2));
        Assert.That(kept.Get<List<string>>("names"), Is.EqualTo(new[] { "a", "c" }));
        Assert.That(kept.Get<int[]>("ids"), Is.EqualTo(new[] { 10, 30 }));
        Assert.That(kept.ImageSize, Is.EqualTo(instances.ImageSize));
    }

    [Test]
    public void Selecting_nothing_leaves_every_field_empty()
    {
        using var scope = NewDisposeScope();

        var none = ThreeInstances()[tensor(new[] { false, false, false })];

        Assert.That(none.Length, Is.Zero);
        Assert.That(none.Get<Boxes>("pred_boxes").Tensor.shape, Is.EqualTo(new long[] { 0, 4 }));
        Assert.That(none.Get<PolygonMasks>("gt_masks").Length, Is.Zero);
        Assert.That(none.Get<List<string>>("names"), Is.Empty);
        Assert.That(none.Get<int[]>("ids"), Is.Empty);
    }

    [Test]
    public void Index_vector_reorders_and_a_single_index_keeps_one()
    {
        using var scope = NewDisposeScope();
        var instances = ThreeInstances();

        var reordered = instances[tensor(new long[] { 2, 0 })];
        var last = instances.Index(-1);

        Assert.That(reordered.Get<List<string>>("names"), Is.EqualTo(new[] { "c", "a" }));
        Assert.That(last.Length, Is.EqualTo(1));
        Assert.That(last.Get<int[]>("ids"), Is.EqualTo(new[] { 30 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => instances.Index(3));
    }

    [Test]
    public void Cat_concatenates_every_kind_of_field()
    {
        using var scope = NewDisposeScope();
        var a = ThreeInstances();
        var b = ThreeInstances()[tensor(new long[] { 1 })];

        var joined = Instances.Cat([a, b]);

        Assert.That(joined.Length, Is.EqualTo(4));
        Assert.That(joined.Get<Tensor>("scores").data<float>().ToArray(), Is.EqualTo(new[] { 0.9f, 0.2f, 0.7f, 0.2f }));
        Assert.That(joined.Get<Boxes>("pred_boxes").Length, Is.EqualTo(4));
        Assert.That(joined.Get<PolygonMasks>("gt_masks").Length, Is.EqualTo(4));
        Assert.That(joined.Get<List<string>>("names"), Is.EqualTo(new[] { "a", "b", "c", "b" }));
        Assert.That(joined.Get<int[]>("ids"), Is.EqualTo(new[] { 10, 20, 30, 20 }));
    }

    [Test]
    public void Cat_refuses_different_image_sizes_and_missing_fields()
    {
        using var scope = NewDisposeScope();
        var a = ThreeInstances();
        var other = new Instances((5, 5));
        other.Set("scores", tensor(new[] { 1f }));
        var partial = new Instances((10, 20));
        partial.Set("scores", tensor(new[] { 1f }));

        var size = Assert.Throws<ArgumentException>(() => Instances.Cat([a, other]));
        var missing = Assert.Throws<ArgumentException>(() => Instances.Cat([a, partial]));

        Assert.That(size!.Message, Does.Contain("image size"));
        Assert.That(missing!.Message, Does.Contain("lacks field 'pred_boxes'"));
    }

    [Test]
    public void MoveToOuterDisposeScope_keeps_every_field_alive_past_the_inner_scope()
    {
        using var outer = NewDisposeScope();
        Instances kept;
        using (NewDisposeScope())
        {
            var instances = ThreeInstances();
            kept = instances[tensor(new[] { true, false, true })].MoveToOuterDisposeScope();
        }

        Assert.That(kept.Get<Tensor>("scores").data<float>().ToArray(), Is.EqualTo(new[] { 0.9f, 0.7f }));
        Assert.That(kept.Get<Boxes>("pred_boxes").Area().data<float>().ToArray(), Is.EqualTo(new[] { 1f, 1f }));
    }
}
