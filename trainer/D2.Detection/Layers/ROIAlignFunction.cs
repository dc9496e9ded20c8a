using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>
/// ROIAlign as a custom autograd node: forward and backward both run <see cref="ROIAlignKernel"/>. Only the ROIs, their
/// levels and the inputs' shapes are kept for backward (the gradient does not depend on the feature values), as in
/// torchvision. Called as <c>ROIAlignFunction.apply(options, levels, rois, input0, input1, ...)</c>.
/// </summary>
internal sealed class ROIAlignFunction : autograd.SingleTensorFunction<ROIAlignFunction>
{
    const string OptionsKey = "options", LevelsKey = "levels", InputShapesKey = "input_shapes";

    public override string Name => nameof(ROIAlign);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var options = (ROIAlignOptions)vars[0];
        var levels = (int[])vars[1];
        var rois = (Tensor)vars[2];
        var inputs = vars.Skip(3).Cast<Tensor>().ToArray();
        ctx.save_for_backward([rois]);
        ctx.save_data(OptionsKey, options);
        ctx.save_data(LevelsKey, levels);
        ctx.save_data(InputShapesKey, inputs.Select(i => i.shape).ToArray());
        return ROIAlignKernel.Forward(inputs, rois, levels, options);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        var rois = ctx.get_saved_variables()[0];
        var options = (ROIAlignOptions)ctx.get_data(OptionsKey);
        var levels = (int[])ctx.get_data(LevelsKey);
        var inputShapes = (long[][])ctx.get_data(InputShapesKey);
        var gradInputs = ROIAlignKernel.Backward(grad_output, rois, levels, inputShapes, options);
        // The returned gradients must outlive this call: autograd reads them after we return. Options, levels and
        // ROIs get none.
        return [null!, null!, null!, .. gradInputs.Select(g => g.MoveToOuterDisposeScope())];
    }
}
