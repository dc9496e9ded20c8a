using D2.Detection.Layers;
using D2.Detection.Structures;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.ProposalGenerator;

/// <summary>Detectron2's find_top_rpn_proposals: top-k per level by logit, clip, drop tiny boxes, NMS per level, top-k per image.</summary>
public static class RPNProposals
{
    /// <param name="proposals">per level, (N, Hi*Wi*A, 4) decoded boxes</param>
    /// <param name="logits">per level, (N, Hi*Wi*A) objectness logits</param>
    /// <param name="imageSizes">per image, its unpadded (height, width): proposals are clipped to it</param>
    /// <returns>per image, Instances with "proposal_boxes" (Boxes) and "objectness_logits" (R) sorted by decreasing logit</returns>
    public static List<Instances> FindTop(IReadOnlyList<Tensor> proposals, IReadOnlyList<Tensor> logits, IReadOnlyList<(int Height, int Width)> imageSizes,
        double nmsThreshold, int preNMSTopK, int postNMSTopK, double minBoxSize, bool training)
    {
        using var scope = NewDisposeScope();
        var device = proposals[0].device;
        var topScores = new List<Tensor>();
        var topProposals = new List<Tensor>();
        var levelIds = new List<Tensor>();
        var batchIndex = Arange(imageSizes.Count, device: device).unsqueeze(1);
        for (var level = 0; level < proposals.Count; level++)
        {
            var k = (int)Math.Min(preNMSTopK, logits[level].shape[1]);
            var (scores, index) = logits[level].topk(k, dim: 1);
            topScores.Add(scores);
            topProposals.Add(proposals[level][batchIndex, index]);
            using var levelId = level.ToScalar();
            levelIds.Add(full(k, levelId, int64, device));
        }
        var allScores = cat(topScores, 1);
        var allProposals = cat(topProposals, 1);
        var allLevels = cat(levelIds, 0);

        var results = new List<Instances>();
        for (var n = 0; n < imageSizes.Count; n++)
        {
            var boxes = allProposals[n];
            var scores = allScores[n];
            var levels = allLevels;
            var valid = isfinite(boxes).all(1).logical_and(isfinite(scores));
            if (!valid.all().item<bool>())
            {
                if (training)
                    throw new FloatingPointError("Predicted boxes or scores contain Inf/NaN. Training has diverged.");
                (boxes, scores, levels) = (boxes[valid], scores[valid], levels[valid]);
            }
            var clipped = new Boxes(boxes.clone());
            clipped.Clip(imageSizes[n]);
            var keep = clipped.Nonempty(minBoxSize);
            var kept = clipped.Index(keep);
            (scores, levels) = (scores[keep], levels[keep]);
            var nmsKeep = NMS.BatchedNMS(kept.Tensor, scores, levels, nmsThreshold);
            if (nmsKeep.shape[0] > postNMSTopK)
                nmsKeep = nmsKeep.slice(0, 0, postNMSTopK, 1);
            var result = new Instances(imageSizes[n]);
            result.Set("proposal_boxes", kept.Index(nmsKeep));
            result.Set("objectness_logits", scores[nmsKeep]);
            results.Add(result.MoveToOuterDisposeScope());
        }
        return results;
    }
}
