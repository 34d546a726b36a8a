"""SageMaker PyTorch serving handler for a roadseg model (copied into each model as code/inference.py).

It stands alone (torch, torchvision, numpy, pillow, and the serving toolkit sagemaker_inference
when present): the serving container has no ``trainer`` package. Requests: an image
(``image/jpeg``, ``image/png``, ``image/tiff``, ``application/x-image``) or ``application/x-npy``
(H x W x 3 uint8); any other content type is answered 415. Responses, by Accept:
``application/json`` a summary with the mask as base64 PNG (also what a request without Accept, or
with ``*/*``, gets: the toolkit replaces those with its default, SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT,
which is JSON unless the endpoint sets it); ``image/png`` the 0/255 road mask;
``application/x-npy`` the uint8 road probability 0..255; any other Accept is answered 406.
"""

from __future__ import annotations

import base64
import io
import json
import os

import numpy as np
import torch
from PIL import Image
from torchvision.models import segmentation

try:  # the serving toolkit turns its own errors into their HTTP status; anything else is a 500
    from sagemaker_inference.errors import BaseInferenceToolkitError
except ImportError:  # outside the serving container
    BaseInferenceToolkitError = None

TILE = int(os.environ.get("ROADSEG_SERVE_TILE", "512"))
OVERLAP = 64
IMAGE_TYPES = ("application/x-image", "image/jpeg", "image/png", "image/tiff", "image/jpg")
_BUILDERS = {
    "mobilenet_v3_large": segmentation.deeplabv3_mobilenet_v3_large,
    "resnet50": segmentation.deeplabv3_resnet50,
    "resnet101": segmentation.deeplabv3_resnet101,
}


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    net = _BUILDERS[meta["backbone"]](weights=None, weights_backbone=None, num_classes=1, aux_loss=False)
    state = torch.load(os.path.join(model_dir, "model.pth"), map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net.to(device).eval()
    return {
        "net": net,
        "device": device,
        "mean": torch.tensor(meta["mean"], dtype=torch.float32, device=device).view(1, 3, 1, 1),
        "std": torch.tensor(meta["std"], dtype=torch.float32, device=device).view(1, 3, 1, 1),
        "threshold": float(meta.get("threshold", 0.5)),
        "version": meta.get("version", ""),
    }


def input_fn(request_body, request_content_type):
    content_type = (request_content_type or "").split(";")[0].strip().lower()
    if content_type in IMAGE_TYPES:
        with Image.open(io.BytesIO(request_body)) as im:
            return np.asarray(im.convert("RGB"))
    if content_type == "application/x-npy":
        array = np.load(io.BytesIO(request_body), allow_pickle=False)
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], 3, axis=2)
        if array.ndim != 3 or array.shape[2] < 3:
            raise ValueError(f"expected an H x W x 3 array, got shape {array.shape}")
        return np.ascontiguousarray(array[:, :, :3]).astype(np.uint8)
    raise _http_error(415, "Unsupported Media Type", f"unsupported content type {request_content_type!r}; send "
                      f"one of {', '.join(IMAGE_TYPES)} or application/x-npy")


def _http_error(status, phrase, message):
    if BaseInferenceToolkitError is None:
        return ValueError(message)
    return BaseInferenceToolkitError(status, message, phrase)


@torch.inference_mode()
def predict_fn(image, model):
    """Road probability for the whole image, tile by tile with overlapping windows."""
    height, width = image.shape[:2]
    tensor = torch.from_numpy(np.ascontiguousarray(image)).to(model["device"]).permute(2, 0, 1)[None].float()
    tensor = (tensor / 255.0 - model["mean"]) / model["std"]
    total = torch.zeros((height, width), device=model["device"])
    weight = torch.zeros((height, width), device=model["device"])
    for top, left in _windows(height, width):
        window = tensor[:, :, top:top + TILE, left:left + TILE]
        logits = model["net"](window)["out"][0, 0]
        total[top:top + window.shape[2], left:left + window.shape[3]] += torch.sigmoid(logits.float())
        weight[top:top + window.shape[2], left:left + window.shape[3]] += 1
    probability = (total / weight).clamp(0, 1)
    return {"probability": (probability * 255).round().to(torch.uint8).cpu().numpy(),
            "threshold": model["threshold"], "version": model["version"]}


def _windows(height, width):
    step = TILE - OVERLAP
    tops = list(range(0, max(height - TILE, 0) + 1, step)) or [0]
    lefts = list(range(0, max(width - TILE, 0) + 1, step)) or [0]
    if tops[-1] + TILE < height:
        tops.append(height - TILE)
    if lefts[-1] + TILE < width:
        lefts.append(width - TILE)
    return [(t, l) for t in tops for l in lefts]


def output_fn(prediction, accept):
    accept = (accept or "application/json").split(";")[0].strip().lower()  # the toolkit's own default
    probability = prediction["probability"]
    mask = probability >= round(prediction["threshold"] * 255)
    if accept in ("image/png", "application/x-image"):
        return _png(mask), "image/png"
    if accept == "application/x-npy":
        buf = io.BytesIO()
        np.save(buf, probability, allow_pickle=False)
        return buf.getvalue(), "application/x-npy"
    if accept in ("application/json", "*/*"):
        body = {"height": int(mask.shape[0]), "width": int(mask.shape[1]), "threshold": prediction["threshold"],
                "road_fraction": float(mask.mean()), "model_version": prediction["version"],
                "mask_png_base64": base64.b64encode(_png(mask)).decode("ascii")}
        return json.dumps(body), "application/json"
    raise _http_error(406, "Not Acceptable",
                      f"unsupported accept type {accept!r}; use application/json, image/png or application/x-npy")


def _png(mask):
    buf = io.BytesIO()
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()
