"""``roadseg quantize MODEL WORKSPACE``: the int8 ONNX engine of a model, judged on its test pairs."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "quantize", help="make a model's int8 CPU engine and measure it against fp32 (records it in the card)",
        description="Quantize MODEL's ONNX export to int8 (static, QDQ, per-channel weights), calibrated on "
                    "WORKSPACE's own tiles (train/images and unlabeled/), and cache it beside the fp32 export in "
                    "the user's cache. Road IoU of int8 and fp32 on the model's test pairs (those its card names, "
                    "else WORKSPACE/test) goes into MODEL/model.json; the default engine uses int8 only when it "
                    "is at most 0.01 below fp32's.")
    parser.add_argument("model", type=Path, help="model folder (with model.json)")
    parser.add_argument("workspace", type=Path, help="workspace whose tiles calibrate int8")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trainer.int8_judge import quantize_and_judge

    print(f"quantizing {args.model} on the tiles of {args.workspace}…", flush=True)
    figures = quantize_and_judge(args.model, args.workspace, threads=args.threads)
    verdict = ("within" if figures["within_tolerance"] else "NOT within") + f" {figures['max_iou_drop']} IoU"
    print(f"int8 road IoU {figures['road_iou']:.4f}, fp32 {figures['fp32_road_iou']:.4f} on "
          f"{figures['test_pairs']} ({verdict}; calibrated on {figures['calibration_tiles']} tiles)")
    print("the default engine now uses int8 for this model" if figures["within_tolerance"]
          else "the default engine keeps fp32 for this model (--engine onnx-int8 still forces int8)")
    return 0
