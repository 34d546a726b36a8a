"""The scene job's arguments and what its markers will record, shared by the container and the launch.

The container parses its arguments with ``build_parser``; a launch reads the same arguments back
(``options_from``) to compute the signature a finished scene's ``.done.json`` marker records
(``launch_signature``), and sends again the scenes whose marker records another model or other options.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import contract
from .runner import JobOptions

DESCRIPTION = "Predict every scene under an input folder or S3 prefix."


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m trainer.scenejob", description=DESCRIPTION)
    p.add_argument("--input", default=str(contract.input_scenes()), help="folder or s3:// prefix of scenes")
    p.add_argument("--model", default=str(contract.input_model()), help="model folder, model.tar.gz or a folder holding one")
    p.add_argument("--output", default=str(contract.output_dir()), help="output folder or s3:// prefix")
    p.add_argument("--manifest-prefix", default="",
                   help="the s3:// prefix of the manifest the scenes came from: stripped from their local paths "
                        "when SageMaker placed them under their full keys")
    p.add_argument("--cog", default=True, action=argparse.BooleanOptionalAction, help="write Cloud Optimized GeoTIFFs")
    p.add_argument("--probability", action="store_true", help="also write the road probability raster")
    p.add_argument("--vector", action="store_true", help="also write the GeoJSON road network")
    p.add_argument("--no-bridge", dest="bridge", action="store_false",
                   help="with --vector: the raw skeleton's network, gaps not bridged")
    p.add_argument("--wgs84", action="store_true", help="GeoJSON in EPSG:4326 instead of the scene's CRS")
    p.add_argument("--tile", type=int, default=512, help="model window in pixels")
    p.add_argument("--overlap", type=int, default=64, help="overlap between windows")
    p.add_argument("--threshold", type=float, default=None, help="road probability cut (default: the model's)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    return p


def options_from(arguments: list[str]) -> JobOptions:
    """The JobOptions a job given these container arguments runs with."""
    args, _ = build_parser().parse_known_args(arguments)
    return JobOptions(cog=args.cog, probability=args.probability, vector=args.vector, bridge=args.bridge,
                      wgs84=args.wgs84, tile=args.tile, overlap=args.overlap, threshold=args.threshold,
                      device=args.device)


def launch_signature(model: str, arguments: list[str], loaded=None) -> dict:
    """What a job with these arguments will record in its markers, for a launch to compare before sending
    scenes (``s3io.remaining_scenes``). A model on S3 is not downloaded: its version (and its threshold,
    unless ``--threshold`` is given) are then left out, and only the options are compared. ``loaded``: the
    local model already loaded by the caller (``local_model``), so it is not loaded twice."""
    options = options_from(arguments)
    if model.startswith("s3://"):
        signature = options.signature("", options.threshold or 0.0)
        del signature["model"]
        if options.threshold is None:
            del signature["threshold"]
        return signature
    if loaded is None:
        from ..artifact import load_model

        loaded = load_model(contract.model_path(model))
    return options.signature(loaded.version, loaded.meta.threshold if options.threshold is None else options.threshold)


def local_model(model: str, work: Path):
    """A local model, loaded once and packed at most once: (the LoadedModel, for its version and threshold;
    the model.tar.gz to upload: the archive itself, or one packed under ``work``). The same file the
    container will load (``contract.model_path``: a folder's single model.tar.gz, else the folder)."""
    from ..artifact import load_model
    from ..jobs.job_model import model_archive

    path = contract.model_path(model)
    loaded = load_model(path)
    return loaded, model_archive(path, work)
