using D2.Detection.Layers;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Layers;

public class TensorMemoryTests
{
    [Test]
    public void ToArray_copies_a_transposed_view_in_row_major_order()
    {
        using var scope = NewDisposeScope();
        // [[0, 1, 2], [3, 4, 5]] transposed: a non-contiguous view whose row-major order is 0, 3, 1, 4, 2, 5.
        var view = arange(6, dtype: ScalarType.Int64).reshape(2, 3).t();
        Assert.That(view.is_contiguous(), Is.False);
        Assert.That(TensorMemory.ToArray<long>(view), Is.EqualTo(new long[] { 0, 3, 1, 4, 2, 5 }));
    }

    [Test]
    public void ToArray_agrees_with_TorchSharps_accessor_for_each_element_type()
    {
        using var scope = NewDisposeScope();
        var values = randn(3, 5, 7) * 100;
        Assert.That(TensorMemory.ToArray<float>(values), Is.EqualTo(values.data<float>().ToArray()));
        Assert.That(TensorMemory.ToArray<double>(values.to(float64)), Is.EqualTo(values.to(float64).data<double>().ToArray()));
        Assert.That(TensorMemory.ToArray<int>(values.to(int32)), Is.EqualTo(values.to(int32).data<int>().ToArray()));
        Assert.That(TensorMemory.ToArray<byte>(values.gt(0).to(uint8)), Is.EqualTo(values.gt(0).to(uint8).data<byte>().ToArray()));
        Assert.That(TensorMemory.ToArray<bool>(values.gt(0)), Is.EqualTo(values.gt(0).data<bool>().ToArray()));
    }

    [Test]
    public void ToArray_of_an_empty_tensor_is_empty()
    {
        using var empty = zeros(0, 4);
        Assert.That(TensorMemory.ToArray<float>(empty), Is.Empty);
    }

    [Test]
    public void ToArray_refuses_an_element_type_that_does_not_match_the_dtype()
    {
        using var values = zeros(4, dtype: ScalarType.Float32);
        var e = Assert.Throws<ArgumentException>(() => TensorMemory.ToArray<long>(values))!;
        Assert.That(e.Message, Does.Contain("Float32").And.Contain("Int64"));
    }
}
