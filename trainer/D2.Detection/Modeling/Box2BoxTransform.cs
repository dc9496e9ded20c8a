using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling;

/// <summary>
/// Detectron2's R-CNN box transform: deltas (dx, dy, dw, dh) shift a box's centre by (dx * width, dy * height) and
/// scale its size by (exp(dw), exp(dh)), each delta first divided by its weight. RPN uses weights (1, 1, 1, 1), the
/// ROI box head (10, 10, 5, 5).
/// </summary>
public sealed class Box2BoxTransform
{
    /// <summary>ln(1000 / 16): no predicted scale beyond what turns a 16-pixel anchor into a 1000-pixel box.</summary>
    public static readonly double DefaultScaleClamp = Math.Log(1000.0 / 16);

    /// <param name="weights">(wx, wy, ww, wh) multiplying the deltas</param>
    /// <param name="scaleClamp">upper bound of dw and dh (after dividing by the weights) when decoding</param>
    public Box2BoxTransform((double X, double Y, double Width, double Height) weights, double? scaleClamp = null)
    {
        Weights = weights;
        ScaleClamp = scaleClamp ?? DefaultScaleClamp;
    }

    public (double X, double Y, double Width, double Height) Weights { get; }
    public double ScaleClamp { get; }

    /// <summary>The deltas that turn each source box into its target box (inverse of <see cref="ApplyDeltas"/>).</summary>
    /// <param name="sourceBoxes">(R, 4) XYXY with positive widths, e.g. proposals or anchors</param>
    /// <param name="targetBoxes">(R, 4) XYXY, e.g. matched ground-truth boxes</param>
    /// <returns>(R, 4): dx, dy, dw, dh</returns>
    public Tensor GetDeltas(Tensor sourceBoxes, Tensor targetBoxes)
    {
        CheckBoxes(sourceBoxes, nameof(sourceBoxes));
        CheckBoxes(targetBoxes, nameof(targetBoxes));
        using var scope = NewDisposeScope();
        var (srcX, srcY, srcW, srcH) = CentreSize(sourceBoxes);
        var (tgtX, tgtY, tgtW, tgtH) = CentreSize(targetBoxes);
        if (!srcW.gt(Zero).all().item<bool>())
            throw new ArgumentException("Input boxes to Box2BoxTransform are not valid: every source box needs a positive width.", nameof(sourceBoxes));

        using Scalar wx = Weights.X, wy = Weights.Y, ww = Weights.Width, wh = Weights.Height;
        var dx = (tgtX - srcX).mul(wx) / srcW;
        var dy = (tgtY - srcY).mul(wy) / srcH;
        var dw = (tgtW / srcW).log().mul(ww);
        var dh = (tgtH / srcH).log().mul(wh);
        return stack([dx, dy, dw, dh], dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>Decodes deltas on boxes in float32 (Detectron2 forces float32 here for precision).</summary>
    /// <param name="deltas">(R, K * 4): K class-specific (dx, dy, dw, dh) per box</param>
    /// <param name="boxes">(R, 4) XYXY the deltas are relative to</param>
    /// <returns>(R, K * 4) float32 XYXY boxes</returns>
    public Tensor ApplyDeltas(Tensor deltas, Tensor boxes)
    {
        CheckBoxes(boxes, nameof(boxes));
        if (deltas.dim() != 2 || deltas.shape[1] % 4 != 0 || deltas.shape[0] != boxes.shape[0])
            throw new ArgumentException($"deltas must be (R, K * 4) with R = {boxes.shape[0]} boxes; got shape [{string.Join(", ", deltas.shape)}].", nameof(deltas));
        using var scope = NewDisposeScope();
        deltas = deltas.to(ScalarType.Float32);
        boxes = boxes.to(ScalarType.Float32);
        var (centreX, centreY, widths, heights) = CentreSize(boxes);
        widths = widths.unsqueeze(1);
        heights = heights.unsqueeze(1);

        using Scalar wx = Weights.X, wy = Weights.Y, ww = Weights.Width, wh = Weights.Height, scaleClamp = ScaleClamp;
        var dx = Every4th(deltas, 0).div(wx);
        var dy = Every4th(deltas, 1).div(wy);
        // Keeps exp() finite for wild predictions early in training.
        var dw = Every4th(deltas, 2).div(ww).clamp(max: scaleClamp);
        var dh = Every4th(deltas, 3).div(wh).clamp(max: scaleClamp);

        var predX = (dx * widths).add(centreX.unsqueeze(1), One);
        var predY = (dy * heights).add(centreY.unsqueeze(1), One);
        var predW = dw.exp() * widths;
        var predH = dh.exp() * heights;
        var (halfW, halfH) = (predW.mul(HalfFloat), predH.mul(HalfFloat));
        var decoded = stack([predX - halfW, predY - halfH, predX.add(halfW, One), predY.add(halfH, One)], dim: -1);
        return decoded.reshape(deltas.shape).MoveToOuterDisposeScope();
    }

    static (Tensor X, Tensor Y, Tensor Width, Tensor Height) CentreSize(Tensor boxes)
    {
        var widths = boxes.select(1, 2) - boxes.select(1, 0);
        var heights = boxes.select(1, 3) - boxes.select(1, 1);
        return (boxes.select(1, 0).add(widths.mul(HalfFloat), One), boxes.select(1, 1).add(heights.mul(HalfFloat), One), widths, heights);
    }

    /// <summary>Columns first, first + 4, ... of (R, K * 4) deltas: one delta kind for every class.</summary>
    static Tensor Every4th(Tensor deltas, int first) => deltas[TensorIndex.Colon, TensorIndex.Slice(first, null, 4)];

    static void CheckBoxes(Tensor boxes, string name)
    {
        ArgumentNullException.ThrowIfNull(boxes, name);
        if (boxes.dim() != 2 || boxes.shape[1] != 4)
            throw new ArgumentException($"{name} must be (R, 4) XYXY; got shape [{string.Join(", ", boxes.shape)}].", name);
    }
}
