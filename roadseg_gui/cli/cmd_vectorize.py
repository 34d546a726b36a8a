"""``roadseg vectorize MASK_OR_FOLDER... --out DIR``: road masks -> a connected road network as GeoJSON."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from tqdm import tqdm

from trainer.errors import BadInputError, RoadsegError
from trainer.listing import file_problem, list_folder

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
                    "Masks may be 0/255, 0/1, 16-bit or float probabilities (cut at --threshold). "
                    "With --merge (the default for a workspace), masks that share a CRS are stitched into ONE "
                    "network, NAME_network.geojson (NAME_areaN_network.geojson for each area of touching masks "
                    "when they lie apart), so a road crossing a chip border is one edge; masks with no "
                    "CRS cannot be placed beside them and are left out, by name. Each output file follows one "
                    "coordinate rule: the mask's CRS (length_m, width_m); a geotransform with no CRS is written "
                    "in that grid (length_grid_units); a mask with no georeferencing in pixels (length_px, "
                    "width_px; x = column, y = -row, where QGIS draws such a raster). A mask that fails is "
                    "reported and the rest go on; the exit status is then 1.")
    parser.add_argument("inputs", nargs="+", metavar="MASK_OR_FOLDER", help="mask files, folders of masks or a workspace")
    parser.add_argument("--out", required=True, type=Path, help="output folder for the GeoJSON files")
    parser.add_argument("--wgs84", action="store_true", help="write EPSG:4326 instead of the mask's CRS")
    parser.add_argument("--threshold", type=float, default=None,
                        help="road cut for probability masks, as a fraction of their range (default 0.5: 0.5 for "
                             "floats 0..1, 128 for 8 bits); 0/1 and 0/255 masks need none")
    merge = parser.add_mutually_exclusive_group()
    merge.add_argument("--merge", action="store_true", default=None,
                       help="stitch masks that share a CRS into one network (the default for a workspace)")
    merge.add_argument("--no-merge", dest="merge", action="store_false", help="one network per mask")
    parser.add_argument("--min-area", type=int, default=64, help="drop road fragments under this many pixels (default 64)")
    parser.add_argument("--no-polygons", action="store_true", help="write only the network, not the road polygons")
    parser.add_argument("--bridge", action="store_true",
                        help="post-process the network as a prediction's: bridge gaps, prune spurs, drop short "
                             "fragments (off by default: a labeled mask is the truth)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args) -> int:
    from trainer.roadgraph.vectorize import vectorize_raster

    if args.threshold is not None and not 0 < args.threshold <= 1:
        raise BadInputError(f"--threshold {args.threshold:g} is not a fraction of the value range",
                            "Give a number above 0 and at most 1, e.g. --threshold 0.5.")
    if args.out.exists() and not args.out.is_dir():
        raise BadInputError("is a file, but --out needs a folder for the GeoJSON files",
                            "Give a folder (it is created when missing).", args.out)
    jobs, failed, workspace = collect(args.inputs)
    merge = args.merge if args.merge is not None else workspace is not None
    notes: list[str] = []
    if merge:
        from .vectorize_merge import merge_jobs
        jobs, notes = merge_jobs(jobs, workspace.name if workspace is not None else "merged", failed)
    for note in notes:
        tqdm.write(f"note: {note}")
    seen: dict[str, Path] = {}
    done = 0
    options = dict(min_area_px=args.min_area, wgs84=args.wgs84, threshold=args.threshold,
                   polygons=not args.no_polygons)
    with tempfile.TemporaryDirectory(prefix="roadseg-mosaic-") as scratch:
        for job in tqdm(jobs, unit="mask", disable=progress_disabled(args.no_progress) or len(jobs) < 2,
                        dynamic_ncols=True):
            stem = job.stem
            if stem in seen:
                failed.append((job.source, f"same name as {seen[stem]}; its outputs would overwrite each other"))
                continue
            seen[stem] = job.source
            blocks = tqdm(total=0, unit="block", desc=job.source.name, leave=False, dynamic_ncols=True,
                          disable=progress_disabled(args.no_progress))

            def progress(done: int, total: int) -> None:   # a scene mask takes minutes: show blocks with an ETA
                blocks.total = total
                blocks.update(done - blocks.n)

            try:
                with blocks:
                    raster = job.raster(Path(scratch), args.threshold)
                    result = vectorize_raster(raster, args.out, stem=stem, georeference=job.georeference,
                                              bridge=args.bridge, progress=progress, **options)
            except RoadsegError as exc:
                failed.append((job.source, exc.what + (f". {exc.fix}" if exc.fix else "")))
                continue
            except (OSError, ValueError) as exc:
                log.debug("vectorising %s failed", job.source, exc_info=True)
                failed.append((job.source, f"{exc.__class__.__name__}: {exc}"))
                continue
            done += 1
            tqdm.write(f"{job.describe()}: {count(result.line_count, 'road edge')}, "
                       f"{count(result.node_count, 'node')} -> {result.lines.name}")
            if result.note:
                tqdm.write(f"note: {job.source.name}: {result.note}")
    for path, reason in failed:
        tqdm.write(f"failed: {path}: {reason}")
    print(f"vectorised {done} of {done + len(failed)} {'outputs' if merge else 'masks'} into {args.out}")
    return 1 if failed else 0


class MaskJob:
    """One mask to vectorise as it is; ``vectorize_merge.MergedJob`` stands for several stitched."""

    def __init__(self, path: Path, georeference: tuple | None = None):
        self.source, self.georeference = path, georeference
        self.stem = path.stem.removesuffix("_mask")

    def raster(self, scratch: Path, threshold: float | None) -> Path:
        return self.source

    def describe(self) -> str:
        return self.source.name


def collect(inputs: list[str]) -> tuple[list[MaskJob], list[tuple[Path, str]], Path | None]:
    """A job for each mask named, in each folder, and accepted in each workspace; the inputs that
    cannot be used, with why; and the workspace when one was given."""
    from ..core.layout import state_dir

    jobs: list[MaskJob] = []
    failed: list[tuple[Path, str]] = []
    workspace = None
    for name in inputs:
        path = Path(name)
        if path.is_dir() and state_dir(path).is_dir():
            found = workspace_masks(path, failed)
            if not found:
                failed.append((path, "the workspace has no accepted masks yet"))
            jobs += found
            workspace = path.resolve() if workspace is None else workspace
        elif path.is_dir():
            listing = list_folder(path, lambda n: Path(n).suffix.lower() in MASK_SUFFIXES)
            failed += listing.skipped   # link loops, dangling links, pipes: named, never skipped silently
            if not listing.files and not listing.skipped:
                failed.append((path, "no mask files (.png, .tif) in this folder"))
            jobs += [MaskJob(p) for p in listing.files]
        else:
            problem = file_problem(path)   # checked before opening: a FIFO would block
            if problem is not None:
                failed.append((path, problem))
            else:
                jobs.append(MaskJob(path))
    return jobs, failed, workspace


def workspace_masks(root: Path, failed: list) -> list[MaskJob]:
    from ..core.layout import masks_dir
    from ..core.statedb import TileStatus
    from ..core.workspace import Workspace

    workspace = Workspace.open(root, create=False, scan=False)
    try:
        found = []
        for tile in workspace.tiles(status=[TileStatus.ACCEPTED, TileStatus.SYNCED]):
            mask = workspace.mask_path(tile.stem)
            if mask is None:
                expected = masks_dir(root, tile.split) / f"{tile.stem}.png" if tile.split else tile.stem
                failed.append((Path(expected), "the tile is accepted but its mask is missing; accept it again"))
                continue
            problem = file_problem(mask)
            if problem is not None:
                failed.append((mask, problem))
                continue
            found.append(MaskJob(mask, _georeference(workspace.image_path(tile.stem))))
        return found
    finally:
        workspace.close()


def _georeference(image: Path) -> tuple | None:
    """The image's transform and CRS when it has them (the accepted PNG mask has none of its own)."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    if file_problem(image) is not None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(image) as src:
                if src.crs is not None or not src.transform.is_identity:
                    return src.transform, src.crs
    except (RasterioIOError, OSError):
        pass
    return None
