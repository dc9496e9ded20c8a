"""Benchmark peer: torchvision's Mask R-CNN R50-FPN, driven by PeerCheck.cs over stdin/stdout (one JSON object a line).

Not product code. It is started once and kept alive, so the C# side can alternate its own runs with this model's in one
process run. Every reply carries the wall time of the call, a per-stage breakdown (forward hooks and wrapped methods
around torchvision's submodules) and the peak resident memory of the call (VmHWM after resetting it through
/proc/self/clear_refs).

Requests: {"cmd": "setup", "threads": 2, "seed": 1, "image": "<path to H*W*3 uint8 RGB>", "height": 480, "width": 640}
          {"cmd": "infer", "size": 512}
          {"cmd": "train", "size": 512, "batch": 2, "boxes": [[x0, y0, x1, y1], ...], "classes": [...], "polygons": [[x, y, ...], ...], "lr": 1e-4}
          {"cmd": "quit"}
"""
import json
import sys
import time

import torch
import torchvision
from torchvision.models import resnet50
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection import roi_heads as roi_heads_module
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.ops import FrozenBatchNorm2d


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


class Stages:
    """Seconds per stage of one call. The ROI heads are split where the mask branch starts (the mask pooler's pre-hook)."""

    def __init__(self, model):
        self.seconds = {}
        self.marks = {}
        self._hook(model.transform, "preprocess")
        self._hook(model.backbone.body, "backbone")
        self._hook(model.backbone.fpn, "fpn")
        self._hook(model.rpn, "rpn")
        self.proposals = 0
        model.rpn.register_forward_hook(lambda m, a, out: setattr(self, "proposals", int(out[0][0].shape[0])))
        heads = model.roi_heads
        heads.register_forward_pre_hook(lambda m, a: self.marks.__setitem__("roi", time.perf_counter()))
        heads.mask_roi_pool.register_forward_pre_hook(lambda m, a: self.marks.__setitem__("mask", time.perf_counter()))

        def roi_end(m, a, out):
            end = time.perf_counter()
            start, mask = self.marks.pop("roi"), self.marks.pop("mask", None)
            self.add("box_head", (mask if mask is not None else end) - start)
            if mask is not None:
                self.add("mask_head", end - mask)
        heads.register_forward_hook(roi_end)
        self._wrap(model.transform, "postprocess", "postprocess")
        # Sub-stages (named "stage.part"), as StageProfile's on our side.
        self._hook(model.rpn.anchor_generator, "rpn.anchors")
        self._hook(model.rpn.head, "rpn.head")
        self._wrap(model.rpn, "filter_proposals", "rpn.proposals")
        self._hook(heads.box_roi_pool, "box_head.pooler")
        self._hook(heads.box_head, "box_head.layers")
        self._hook(heads.box_predictor, "box_head.layers")
        self._wrap(heads, "postprocess_detections", "box_head.inference")
        self._hook(heads.mask_roi_pool, "mask_head.pooler")
        self._hook(heads.mask_head, "mask_head.layers")
        self._hook(heads.mask_predictor, "mask_head.layers")
        self._wrap(roi_heads_module, "maskrcnn_inference", "mask_head.inference")

    def _wrap(self, owner, attribute, name):
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            result = original(*args, **kwargs)
            self.add(name, time.perf_counter() - start)
            return result
        setattr(owner, attribute, timed)

    def _hook(self, module, name):
        module.register_forward_pre_hook(lambda m, a: self.marks.__setitem__(name, time.perf_counter()))
        module.register_forward_hook(lambda m, a, out: self.add(name, time.perf_counter() - self.marks.pop(name)))

    def add(self, name, seconds):
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def take(self):
        result, self.seconds = self.seconds, {}
        return result


def rasterize(polygon, height, width):
    """Filled polygon (even-odd rule at pixel centres) as an (H, W) uint8 mask."""
    xs, ys = polygon[0::2], polygon[1::2]
    yy, xx = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    inside = torch.zeros(height, width, dtype=torch.bool)
    j = len(xs) - 1
    for i in range(len(xs)):
        xi, yi, xj, yj = xs[i], ys[i], xs[j], ys[j]
        if yi != yj:
            crosses = ((yi > yy) != (yj > yy)) & (xx < (xj - xi) * (yy - yi) / (yj - yi) + xi)
            inside ^= crosses
        j = i
    return inside.to(torch.uint8)


def main():
    model = image = stages = optimizer = None
    for line in sys.stdin:
        request = json.loads(line)
        command = request["cmd"]
        reply = {"ok": True}
        if command == "setup":
            torch.set_num_threads(request["threads"])
            torch.manual_seed(request["seed"])
            # FrozenBN everywhere, stem + res2 (torchvision's conv1 + layer1) frozen: Detectron2's FREEZE_AT 2.
            body = resnet50(weights=None, norm_layer=FrozenBatchNorm2d)
            backbone = _resnet_fpn_extractor(body, trainable_layers=3)
            # 80 COCO classes + background; Detectron2's proposal counts and detections.
            model = MaskRCNN(backbone, num_classes=81, min_size=800, max_size=1333,
                             rpn_pre_nms_top_n_train=2000, rpn_post_nms_top_n_train=1000,
                             rpn_pre_nms_top_n_test=1000, rpn_post_nms_top_n_test=1000,
                             box_score_thresh=0.0, box_detections_per_img=100)
            # As ours: zero scale on each bottleneck's last norm keeps random-weight activations O(1) (OurModel.cs says why).
            with torch.no_grad():
                for layer in (body.layer1, body.layer2, body.layer3, body.layer4):
                    for block in layer:
                        block.bn3.weight.zero_()
            stages = Stages(model)
            height, width = request["height"], request["width"]
            with open(request["image"], "rb") as f:
                pixels = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)
            image = pixels.view(height, width, 3).permute(2, 0, 1).float().div(255).contiguous()
            params = [p for p in model.parameters() if p.requires_grad]
            optimizer = torch.optim.SGD(params, lr=request.get("lr", 1e-4), momentum=0.9, weight_decay=1e-4)
            reply.update(torch=torch.__version__, torchvision=torchvision.__version__, threads=torch.get_num_threads(),
                         trainable=sum(p.numel() for p in params))
        elif command == "infer":
            model.eval()
            model.transform.min_size = (request["size"],)
            stages.take()
            reset_peak()
            start = time.perf_counter()
            with torch.no_grad():
                output = model([image])
            reply["seconds"] = time.perf_counter() - start
            reply["peak_rss"] = peak_rss_bytes()
            reply["detections"] = int(output[0]["boxes"].shape[0])
            reply["mask_shape"] = list(output[0]["masks"].shape)
            reply["proposals"] = stages.proposals
            reply["stages"] = stages.take()
        elif command == "train":
            model.train()
            size = request["size"]
            model.transform.min_size = (size,)
            height = size
            width = int(request["width"])
            resized = torch.nn.functional.interpolate(image[None], size=(height, width), mode="bilinear", align_corners=False)[0]
            boxes = torch.tensor(request["boxes"], dtype=torch.float32).view(-1, 4)
            classes = torch.tensor(request["classes"], dtype=torch.int64) + 1  # torchvision's 0 is background
            masks = torch.stack([rasterize(p, height, width) for p in request["polygons"]])
            images = [resized.clone() for _ in range(request["batch"])]
            targets = [{"boxes": boxes, "labels": classes, "masks": masks} for _ in range(request["batch"])]
            stages.take()
            reset_peak()
            start = time.perf_counter()
            optimizer.zero_grad()
            losses = model(images, targets)
            total = sum(losses.values())
            forward_end = time.perf_counter()
            total.backward()
            backward_end = time.perf_counter()
            optimizer.step()
            end = time.perf_counter()
            reply["seconds"] = end - start
            reply["peak_rss"] = peak_rss_bytes()
            reply["loss"] = float(total)
            reply["stages"] = stages.take()
            reply["stages"]["backward"] = backward_end - forward_end
            reply["stages"]["optimizer"] = end - backward_end
        elif command == "quit":
            print(json.dumps(reply), flush=True)
            return
        else:
            reply = {"ok": False, "error": f"unknown command {command!r}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
