"""``roadseg vectorize --merge``: masks that share a CRS become one job, stitched into one network.

Every output keeps one coordinate rule: a merged network is in its CRS, and a mask with no CRS
(a plain JPG tile's PNG mask) cannot be placed on it, so it is left out by name instead of being
written in pixels beside map coordinates.
"""

from __future__ import annotations

from pathlib import Path

from trainer.roadgraph.mosaic import Placed, crs_label, group_by_crs, mosaic, placement, touching_groups

from .wording import count


class MergedJob:
    """Several masks in one CRS, pasted onto one grid (``trainer.roadgraph.mosaic``) and vectorised once."""

    georeference = None   # the mosaic carries its CRS and transform

    def __init__(self, chips: list[Placed], stem: str):
        self.chips, self.stem = chips, stem
        self.source = Path(f"{stem} ({len(chips)} masks in {crs_label(chips[0].crs)})")

    def raster(self, scratch: Path, threshold: float | None) -> Path:
        return mosaic(self.chips, scratch / f"{self.stem}.tif", threshold)

    def describe(self) -> str:
        return f"{self.stem}: {len(self.chips)} masks in {crs_label(self.chips[0].crs)} stitched"


def merge_jobs(jobs: list, name: str, failed: list) -> tuple[list, list[str]]:
    """The jobs to run when merging ``jobs`` (``cmd_vectorize.MaskJob``), and notes on the masks that
    cannot join a merged network."""
    placed, unplaced = [], []
    for job in jobs:
        try:
            where = placement(job.source, job.georeference)
        except Exception as exc:   # rasterio's open errors: the mask is named, the rest go on
            failed.append((job.source, f"cannot be read as a raster ({exc})"))
            continue
        if where is None:
            unplaced.append(job)
        else:
            placed.append(Placed(job.source, *where))
    groups = group_by_crs(placed)
    if not groups:
        if len(unplaced) > 1:
            return unplaced, ["no mask has a CRS, so none can be stitched to another: one network per mask"]
        return unplaced, []
    merged, notes = [], []
    for chips in groups:
        stem = name if len(groups) == 1 else f"{name}_{crs_label(chips[0].crs).replace(':', '_')}"
        areas = touching_groups(chips)
        if len(areas) > 1:
            notes.append(f"the {len(chips)} masks in {crs_label(chips[0].crs)} lie in {len(areas)} areas that do "
                         f"not touch: one network each, {stem}_area1 to {stem}_area{len(areas)}")
        merged += [MergedJob(area, stem if len(areas) == 1 else f"{stem}_area{i}") for i, area in enumerate(areas, 1)]
    if unplaced:
        names = ", ".join(job.source.name for job in unplaced)
        notes.append(f"{count(len(unplaced), 'mask')} with no CRS (no georeferencing) cannot be placed on the "
                     f"{' / '.join(crs_label(g[0].crs) for g in groups)} network and "
                     f"{'is' if len(unplaced) == 1 else 'are'} left out: {names}; vectorise "
                     f"{'it' if len(unplaced) == 1 else 'them'} with --no-merge to get pixel coordinates")
    return merged, notes
