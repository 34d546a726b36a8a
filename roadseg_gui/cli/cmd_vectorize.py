"""``roadseg vectorize MASK_OR_FOLDER... --out DIR``: road masks -> a connected road network as GeoJSON."""

from __future__ import annotations

import logging
from pathlib import Path

from tqdm import tqdm

from trainer.errors import RoadsegError

from .wording import count, progress_disabled

log = logging.getLogger(__name__)
MASK_SUFFIXES = {".png", ".tif", ".tiff"}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "vectorize", help="turn road masks into a road network (GeoJSON edges, nodes and polygons)",
        description="Vectorise road masks: a georeferenced mask or scene mask of any size (read block by block), "
                    "a folder of masks, or a workspace (its accepted masks, placed by their GeoTIFF tiles when "
                    "those are georeferenced). For each mask writes STEM_network.geojson (one LineString per "
                    "road edge with from_node/to_node ids shared where edges meet, length_m and width_m), "
                    "STEM_nodes.geojson (junctions and dangling ends) and STEM_roads.geojson (polygons). "
                    "A mask with no georeferencing is written in pixels (length_px, width_px). A mask that "
                    "fails is reported and the rest go on; the exit status is then 1.")
    parser.add_argument("inputs", nargs="+", metavar="MASK_OR_FOLDER", help="mask files, folders of masks or a workspace")
    parser.add_argument("--out", required=True, type=Path, help="output folder for the GeoJSON files")
    parser.add_argument("--wgs84", action="store_true", help="write EPSG:4326 instead of the mask's CRS")
    parser.add_argument("--min-area", type=int, default=64, help="drop road fragments under this many pixels (default 64)")
    parser.add_argument("--no-polygons", action="store_true", help="write only the network, not the road polygons")
    parser.add_argument("--bridge", action="store_true",
                        help="post-process the network as a prediction's: bridge gaps, prune spurs, drop short "
                             "fragments (off by default: a labeled mask is the truth)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args) -> int:
    from trainer.roadgraph.vectorize import vectorize_raster

    jobs, failed = collect(args.inputs)
    seen: dict[str, Path] = {}
    done = 0
    for mask, georeference in tqdm(jobs, unit="mask", disable=progress_disabled(args.no_progress) or len(jobs) < 2,
                                   dynamic_ncols=True):
        stem = mask.stem.removesuffix("_mask")
        if stem in seen:
            failed.append((mask, f"same name as {seen[stem]}; its outputs would overwrite each other"))
            continue
        seen[stem] = mask
        blocks = tqdm(total=0, unit="block", desc=mask.name, leave=False, dynamic_ncols=True,
                      disable=progress_disabled(args.no_progress))

        def progress(done: int, total: int) -> None:   # a scene mask takes minutes: show blocks with an ETA
            blocks.total = total
            blocks.update(done - blocks.n)

        try:
            with blocks:
                result = vectorize_raster(mask, args.out, min_area_px=args.min_area, wgs84=args.wgs84, stem=stem,
                                          polygons=not args.no_polygons, georeference=georeference,
                                          bridge=args.bridge, progress=progress)
        except RoadsegError as exc:
            failed.append((mask, exc.what + (f". {exc.fix}" if exc.fix else "")))
            continue
        except (OSError, ValueError) as exc:
            log.debug("vectorising %s failed", mask, exc_info=True)
            failed.append((mask, f"{exc.__class__.__name__}: {exc}"))
            continue
        done += 1
        tqdm.write(f"{mask.name}: {count(result.line_count, 'road edge')}, {count(result.node_count, 'node')} "
                   f"-> {result.lines.name}")
    for path, reason in failed:
        tqdm.write(f"failed: {path}: {reason}")
    print(f"vectorised {done} of {done + len(failed)} masks into {args.out}")
    return 1 if failed else 0


def collect(inputs: list[str]) -> tuple[list[tuple[Path, tuple | None]], list[tuple[Path, str]]]:
    """(mask, georeference or None) for each mask named, in each folder, and accepted in each workspace."""
    from ..core.layout import state_dir

    jobs: list[tuple[Path, tuple | None]] = []
    failed: list[tuple[Path, str]] = []
    for name in inputs:
        path = Path(name)
        if not path.exists():
            failed.append((path, "no such file or folder"))
        elif path.is_dir() and state_dir(path).is_dir():
            found = workspace_masks(path)
            if not found:
                failed.append((path, "the workspace has no accepted masks yet"))
            jobs += found
        elif path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in MASK_SUFFIXES
                           and not p.name.startswith("."))
            if not found:
                failed.append((path, "no mask files (.png, .tif) in this folder"))
            jobs += [(p, None) for p in found]
        else:
            jobs.append((path, None))
    return jobs, failed


def workspace_masks(root: Path) -> list[tuple[Path, tuple | None]]:
    from ..core.statedb import TileStatus
    from ..core.workspace import Workspace

    workspace = Workspace.open(root, create=False, scan=False)
    try:
        found = []
        for tile in workspace.tiles(status=[TileStatus.ACCEPTED, TileStatus.SYNCED]):
            mask = workspace.mask_path(tile.stem)
            if mask is not None:
                found.append((mask, _georeference(workspace.image_path(tile.stem))))
        return found
    finally:
        workspace.close()


def _georeference(image: Path) -> tuple | None:
    """The image's transform and CRS when it has them (the accepted PNG mask has none of its own)."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(image) as src:
                if src.crs is not None or not src.transform.is_identity:
                    return src.transform, src.crs
    except (RasterioIOError, OSError):
        pass
    return None
