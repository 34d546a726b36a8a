"""``roadseg predict --model M INPUT... --out DIR``: road masks for images and georeferenced scenes.

Output names follow one rule per kind of input. Plain images (JPEG/PNG/TIFF without
georeferencing) get ``<stem>.png`` 0/255 masks, the same name as the S3 layout's mask so they
pair with the image. Georeferenced rasters (a CRS or geotransform, of any size: a 432-px chip
is not a "scene" to the user) are predicted window by window into GeoTIFFs with the input's
CRS, transform and nodata (``<stem>_mask.tif`` / ``<stem>_probability.tif``: the suffix keeps
a mask from replacing ``<stem>.tif`` when --out is the input folder), plus road
polygons and the road network (edges and nodes) as GeoJSON with ``--vector``. A file that fails is reported
by name and the rest go on; the exit code is 1 if any failed.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from trainer.errors import BadInputError, RoadsegError
from trainer.fsutil import atomic_write_bytes
from trainer.imageio import IMAGE_SUFFIXES, MAX_IMAGE_PIXELS, read_image, to_rgb8, write_mask_png
from trainer.listing import walk_folder

from .wording import count, progress_disabled

log = logging.getLogger(__name__)

RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".jp2", ".img"}
INPUT_SUFFIXES = IMAGE_SUFFIXES | RASTER_SUFFIXES


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="predict road masks for images and georeferenced scenes",
        description="Predict roads with a trained model. Output names: a plain image STEM.jpg/.png gets "
                    "STEM.png, a 0/255 mask named as the S3 layout pairs it with its image; a georeferenced "
                    "raster STEM.tif (any size) gets STEM_mask.tif, a tiled GeoTIFF (COG with --cog) in the "
                    "input's CRS (the _mask suffix keeps it from replacing STEM.tif when --out is the input "
                    "folder), and STEM_probability.* with --write. --vector adds STEM_network.geojson, "
                    "STEM_nodes.geojson and STEM_roads.geojson: the connected road network and polygons.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image/raster files or folders of them")
    parser.add_argument("--model", required=True, help="model folder, model.tar.gz, model.pth or seed checkpoint")
    parser.add_argument("--out", required=True, help="output folder (an s3:// prefix with --backend)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda[:N] or mps")
    parser.add_argument("--engine", default="auto", choices=["auto", "torch", "onnx", "onnx-int8"],
                        help="auto: ONNX Runtime on the CPU (int8 where the model card measured it within 0.01 "
                             "IoU, see roadseg quantize), torch on GPUs; onnx-int8: int8 ONNX Runtime, "
                             "calibrated on these inputs when no export is cached")
    parser.add_argument("--tile", type=int, default=512, help="model window in pixels (default 512)")
    parser.add_argument("--overlap", type=int, default=64, help="overlap between windows (default 64)")
    parser.add_argument("--batch-size", type=int, default=None, help="windows per engine call")
    parser.add_argument("--threshold", type=float, default=None, help="road probability cut (default: the model's)")
    parser.add_argument("--write", choices=["mask", "probability", "both"], default="mask",
                        help="mask (0/255), probability (0..255) or both (default mask)")
    parser.add_argument("--cog", action="store_true", help="write Cloud Optimized GeoTIFFs for scenes")
    parser.add_argument("--vector", action="store_true",
                        help="also write road polygons and the road network: edges with length_m/width_m and "
                             "nodes (GeoJSON; in pixels for plain images)")
    parser.add_argument("--no-bridge", dest="bridge", action="store_false",
                        help="with --vector: deliver the raw skeleton's network, without bridging its gaps (along "
                             "the least-cost path over the prediction), pruning spurs or dropping short fragments")
    parser.add_argument("--wgs84", action="store_true", help="GeoJSON in EPSG:4326 instead of the scene's CRS")
    parser.add_argument("--min-area", type=int, default=64, help="drop road fragments under this many pixels")
    parser.add_argument("--bands", help="1-based R,G,B band numbers for multispectral rasters, e.g. 5,3,2")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for the engine")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    from .predict_jobs import add_arguments
    add_arguments(parser)
    parser.set_defaults(func=run)


def collect_inputs(inputs: list[str], out_dir: Path,
                   notes: list | None = None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files named or found (recursively) in folders; missing ones, link loops and dangling links come
    back as failures; sub-folders that are not read are appended to ``notes`` as (path, reason)."""
    found, failed = [], []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            listing, skipped_folders = walk_folder(path, _is_input_name, exclude=out_dir)
            found += listing.files
            failed += listing.skipped
            if notes is not None:
                notes += skipped_folders
        elif path.is_file():
            found.append(path)
        elif path.is_symlink():
            failed.append((path, "a symbolic link that cannot be followed (a loop, or its target is missing)"))
        else:
            failed.append((path, "not found"))
    return found, failed


def _is_input_name(name: str) -> bool:
    return Path(name).suffix.lower() in INPUT_SUFFIXES


def parse_bands(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        bands = tuple(int(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise BadInputError(f"--bands {text!r} is not a list of band numbers", "Write e.g. --bands 5,3,2.") from None
    if len(bands) != 3 or min(bands) < 1:
        raise BadInputError(f"--bands needs three band numbers from 1, got {text!r}", "Write e.g. --bands 5,3,2.")
    return bands


def raster_info(path: Path):
    """(band count, georeferenced, pixels) from the header, or None when rasterio cannot open it."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                geo = src.crs is not None or not src.transform.is_identity
                return src.count, geo, src.width * src.height
    except Exception:  # not a raster GDAL knows, or a corrupt one: the image reader says why
        return None


def make_reader(bands: tuple[int, ...] | None):
    """The decode function for plain images: band checks first, then trainer.imageio."""
    def read(path: Path) -> np.ndarray:
        if path.stat().st_size and path.suffix.lower() in RASTER_SUFFIXES:
            info = raster_info(path)
            if info and (bands or info[0] > 4):
                from trainer.scene import choose_bands
                chosen = choose_bands(info[0], bands, path)
                if info[2] > MAX_IMAGE_PIXELS:
                    read_image(path)  # raises the size message
                import rasterio
                with rasterio.open(path) as src:
                    return to_rgb8(np.stack([src.read(b) for b in chosen], axis=-1))
        return read_image(path)
    return read


def encode_png(array: np.ndarray) -> bytes:
    import io
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(array, mode="L").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def run(args) -> int:
    if args.backend:
        from .predict_jobs import run as run_job
        return run_job(args)
    args.out = Path(args.out)
    from trainer.predict import Predictor

    bands = parse_bands(args.bands)
    started = time.perf_counter()
    folder_notes: list = []
    paths, failed = collect_inputs(args.inputs, args.out, folder_notes)
    if not paths and not failed:
        raise BadInputError("no image files in the inputs", "Give image files (.jpg .png .tif) or folders of them.")
    if args.out.exists() and not args.out.is_dir():   # before the model's seconds of loading
        raise BadInputError("is a file, but --out needs a folder for the masks",
                            "Give a folder (it is created when missing).", args.out)
    print(f"loading model {args.model}…", flush=True)  # a big model takes seconds: say so first
    predictor = Predictor(args.model, device=args.device, tile=args.tile, overlap=args.overlap,
                          batch_size=args.batch_size, engine=args.engine, threshold=args.threshold,
                          threads=args.threads, calibration=paths if args.engine == "onnx-int8" else None)
    tqdm.write(f"model {predictor.version or '?'} on {predictor.describe()}, threshold {predictor.threshold:g}")
    for note in predictor.notes:
        tqdm.write(f"note: {note}")
    args.out.mkdir(parents=True, exist_ok=True)

    def fail(path: Path, reason: str) -> None:
        failed.append((path, reason))
        tqdm.write(f"failed: {path}: {reason}")

    for path, reason in folder_notes:
        tqdm.write(f"skipped: {path}: {reason}")
    for path, reason in list(failed):
        tqdm.write(f"failed: {path}: {reason}")
    images, scenes, stems = [], [], {}
    for path in paths:
        if path.stem in stems:
            fail(path, f"same name as {stems[path.stem]}; its outputs would overwrite each other")
            continue
        stems[path.stem] = path
        info = raster_info(path) if path.suffix.lower() in RASTER_SUFFIXES else None
        # big rasters take the windowed scene path even without georeferencing
        (scenes if info and (info[1] or info[2] > MAX_IMAGE_PIXELS) else images).append(path)

    if images and scenes:
        tqdm.write("note: masks are named STEM.png for plain images (to pair with the image) and STEM_mask.tif "
                   "for georeferenced rasters (GeoTIFFs in the input's CRS)")
    if args.vector and images:
        tqdm.write(f"note: {count(len(images), 'plain image')} without georeferencing: --vector writes their road "
                   f"networks in pixels (length_px, width_px){', not WGS84' if args.wgs84 else ''}")
    write_mask, write_prob = args.write in ("mask", "both"), args.write in ("probability", "both")
    bar = tqdm(total=len(images) + len(scenes), unit="file", disable=progress_disabled(args.no_progress),
               dynamic_ncols=True)
    done = 0
    with bar:
        for path, result in predictor.predict_paths(images, read=make_reader(bands)):
            bar.update(1)
            if isinstance(result, RoadsegError):
                fail(path, _reason(result, path))
                continue
            try:
                if write_mask:
                    target = args.out / f"{path.stem}.png"
                    if target.resolve() == path.resolve():
                        raise BadInputError("the output mask would overwrite the input", "Use another --out.")
                    write_mask_png(target, result.mask)
                if write_prob:
                    atomic_write_bytes(args.out / f"{path.stem}_probability.png", encode_png(result.probability))
                if args.vector:
                    vectorize_image_mask(path.stem, result.mask, args, result.probability)
                done += 1
            except (RoadsegError, OSError) as exc:
                fail(path, _reason(exc, path))
        for path in scenes:
            try:
                predict_one_scene(path, predictor, args, bands, write_mask, write_prob)
                done += 1
            except RoadsegError as exc:
                fail(path, _reason(exc, path))
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # one broken scene must not stop the batch
                log.debug("scene %s failed", path, exc_info=True)
                fail(path, f"{exc.__class__.__name__}: {exc}")
            bar.update(1)
    seconds = time.perf_counter() - started
    summary = (f"predicted {done} of {done + len(failed)} inputs ({count(len(images), 'plain image')}, "
               f"{count(len(scenes), 'raster')} written as GeoTIFF) "
               f"in {seconds:.1f} s; {len(failed)} failed; outputs in {args.out}")
    print(summary)
    return 1 if failed else 0


def vectorize_image_mask(stem: str, mask, args, probability=None) -> None:
    """A plain image's road network, in pixels (the same GeoJSON files as a scene's); bridged over
    ``probability`` (uint8 H x W) unless --no-bridge."""
    import tempfile

    from trainer.roadgraph.vectorize import vectorize_raster

    with tempfile.TemporaryDirectory(dir=args.out, prefix=".vector-") as tmp:
        source = Path(tmp) / f"{stem}.png"
        write_mask_png(source, mask)
        guide = None
        if probability is not None and args.bridge:
            guide = Path(tmp) / f"{stem}_probability.png"
            atomic_write_bytes(guide, encode_png(probability))
        vectorize_raster(source, args.out, min_area_px=args.min_area, stem=stem, bridge=args.bridge,
                         probability=guide)


def predict_one_scene(path: Path, predictor, args, bands, write_mask: bool, write_prob: bool) -> None:
    from trainer.roadgraph.vectorize import vectorize_raster

    with tqdm(total=0, unit="tile", desc=path.name, leave=False, disable=progress_disabled(args.no_progress),
              dynamic_ncols=True) as tiles:
        def progress(done: int, total: int) -> None:
            tiles.total = total
            tiles.update(done - tiles.n)

        result = predictor.predict_scene(path, args.out, write_mask=write_mask or args.vector,
                                         write_probability=write_prob, cog=args.cog, bands=bands, progress=progress)
    if args.vector:
        vectors = vectorize_raster(result.mask, args.out, min_area_px=args.min_area, wgs84=args.wgs84,
                                   bridge=args.bridge, probability=result.probability,
                                   stem=path.stem)
        if not write_mask:
            os.remove(result.mask)
        tqdm.write(f"{path.name}: {count(vectors.polygon_count, 'road polygon')}, a network of "
                   f"{count(vectors.line_count, 'edge')} and {count(vectors.node_count, 'node')}")
    tqdm.write(f"{path.name}: {result.width}x{result.height} in {result.seconds:.1f} s, "
               f"uncertainty {result.uncertainty:.3f}")


def _reason(exc: BaseException, path: Path) -> str:
    if isinstance(exc, RoadsegError):
        text = exc.what + (f". {exc.fix}" if exc.fix else "")
        return text
    return str(exc) or exc.__class__.__name__
