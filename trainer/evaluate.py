"""Evaluate a model on a labelled split: road IoU, F1, precision, recall over the whole set,
and pixel accuracy only beside the all-background accuracy of the same pixels; beside them the
connectivity of the roads: APLS and clDice (``trainer.roadgraph``). ``apls`` is that of the network a
user gets from the prediction (gaps bridged, spurs pruned: ``roadgraph.connect``), ``apls_raw`` that of
the prediction's raw skeleton.
``evaluate_predictions`` scores a folder of masks made elsewhere (another tool, an older model,
a second annotator) the same way, with no model."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .artifact import LoadedModel, load_model
from .data import list_pairs
from .errors import BadInputError, DataError
from .imageio import read_image, read_mask
from .listing import list_folder
from .metrics import Confusion
from .roadgraph.metrics import ConnectivityTotals

log = logging.getLogger(__name__)


def evaluation_directory(data_dir: str | os.PathLike) -> Path:
    """DIR/test when it exists, else DIR itself when it directly holds images/ and masks/."""
    data_dir = Path(data_dir)
    if (data_dir / "test" / "images").is_dir():
        return data_dir / "test"
    if (data_dir / "images").is_dir():
        return data_dir
    raise DataError("no test/images/ folder (and no images/ folder) here",
                    "Point --data at a folder holding test/images + test/masks, or images + masks.", data_dir)


def evaluate(model: str | os.PathLike | LoadedModel, data_dir: str | os.PathLike, device: str = "cpu",
             engine: str = "torch", tile: int = 512, overlap: int = 64, skipped: list | None = None,
             connectivity: bool = False, tta: bool = False) -> dict:
    """Metrics of ``model`` on the test split of ``data_dir``; unusable pairs are reported and skipped
    (appended to ``skipped`` as (name, reason) when given). ``connectivity`` adds ``apls``, ``apls_raw``
    and ``cldice`` (off by default: the keys training writes are the pixel metrics); ``tta`` averages
    the probability over flips of each window before the threshold (``Predictor``)."""
    from .predict import Predictor

    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    directory = evaluation_directory(data_dir)
    files = list_pairs(directory, directory.name)
    predictor = Predictor(loaded, device=device, tile=tile, overlap=overlap, engine=engine, tta=tta)
    confusion, roads = Confusion(), (ConnectivityTotals() if connectivity else None)
    problems = list(files.skipped)
    for pair in files.pairs:
        try:
            image, truth = read_image(pair.image), read_mask(pair.mask)
        except BadInputError as exc:
            log.warning("skipped %s: %s", pair.image.name, exc.what)
            problems.append((pair.image.name, exc.what))
            continue
        if image.shape[:2] != truth.shape:
            problems.append((pair.image.name, "image and mask sizes differ"))
            continue
        prediction = predictor.predict(image)
        confusion.add(prediction.mask, truth)
        if roads is not None:   # bridged over the model's probability, as predict --vector bridges
            roads.add(prediction.mask, truth, prediction.probability)
    return _result(confusion, roads, problems, skipped, directory)


def evaluate_predictions(predictions_dir: str | os.PathLike, data_dir: str | os.PathLike,
                         skipped: list | None = None, threshold: float | None = None,
                         bridge: bool = True) -> dict:
    """The metrics of ``evaluate`` for existing masks in ``predictions_dir``, paired with the truth
    of ``data_dir``'s test split by stem (``STEM.png``/``.tif``, or ``STEM_mask.*`` as predict writes).
    ``data_dir`` may also be a plain folder of masks (or hold masks/ alone): two annotators' masks
    are compared with no images; ``bridge=False`` scores their own networks (labels are the truth), so
    ``apls`` is then ``apls_raw``."""
    # probability predictions (float 0..1, 8- or 16-bit) are cut at ``threshold`` (``imageio.RoadRule``)
    predictions_dir = Path(predictions_dir)
    if not predictions_dir.is_dir():
        raise DataError("is not a folder of predicted masks", "Point --predictions at a folder of STEM.png masks.",
                        predictions_dir)
    truths, problems, directory = _truth_masks(Path(data_dir))
    found, broken = _masks_by_stem(predictions_dir)
    confusion, connectivity = Confusion(), ConnectivityTotals(bridge=bridge)
    listed = len(problems)
    for name, stem, truth_path in truths:
        prediction = found.get(stem)
        if prediction is None:
            if stem in broken:   # a folder, a link loop or a pipe by that name: say so, not "no prediction"
                path, reason = broken[stem]
                problems.append((name, f"the prediction {path} is not a mask file that can be read: {reason}"))
            else:
                problems.append((name, f"no prediction {stem}.png in {predictions_dir}"))
            continue
        try:
            mask, truth = read_mask(prediction, threshold), read_mask(truth_path)
        except BadInputError as exc:
            problems.append((name, exc.what))
            continue
        if mask.shape != truth.shape:
            problems.append((name, f"prediction {prediction.name} is {mask.shape[1]}x{mask.shape[0]} "
                                   f"but the truth is {truth.shape[1]}x{truth.shape[0]}"))
            continue
        confusion.add(mask, truth)
        connectivity.add(mask, truth)
    for name, reason in problems[listed:]:
        log.warning("skipped %s: %s", name, reason)
    return _result(confusion, connectivity, problems, skipped, directory)


def _truth_masks(data_dir: Path) -> tuple[list[tuple[str, str, Path]], list, Path]:
    """(name to report, stem, mask) of each truth, the pairs skipped while listing, and the folder."""
    try:
        directory = evaluation_directory(data_dir)
    except DataError:
        for folder in (data_dir / "test" / "masks", data_dir / "masks", data_dir):
            masks, broken = _masks_by_stem(folder) if folder.is_dir() else ({}, {})
            if masks or broken:   # the ones that cannot be read are reported, never dropped silently
                for path, reason in broken.values():
                    log.warning("skipped %s: %s", path.name, reason)
                return ([(path.name, stem, path) for stem, path in sorted(masks.items())],
                        [(path.name, reason) for path, reason in broken.values()], folder)
        raise
    files = list_pairs(directory, directory.name)
    return [(pair.image.name, pair.stem, pair.mask) for pair in files.pairs], list(files.skipped), directory


def _masks_by_stem(folder: Path) -> tuple[dict[str, Path], dict[str, tuple[Path, str]]]:
    """Mask files by stem, and by stem the entries named like masks that cannot be read, with why
    (link loops, pipes, folders: through ``listing``, so none is dropped without a word)."""
    def is_mask_name(name: str) -> bool:
        path = Path(name)
        return path.suffix.lower() in (".png", ".tif", ".tiff") and not path.stem.endswith("_probability")

    listing = list_folder(folder, is_mask_name)
    broken = {path.stem.removesuffix("_mask"): (path, reason) for path, reason in listing.skipped}
    broken.update({path.stem.removesuffix("_mask"): (path, "a folder, not a file")
                   for path in listing.folders if is_mask_name(path.name)})
    masks: dict[str, Path] = {}
    for path in listing.files:
        stem = path.stem.removesuffix("_mask")
        if stem not in masks or path.suffix.lower() == ".png":
            masks[stem] = path
    return masks, {stem: why for stem, why in broken.items() if stem not in masks}


def _result(confusion: Confusion, connectivity: ConnectivityTotals | None, problems: list, skipped: list | None,
            directory: Path) -> dict:
    if skipped is not None:
        skipped.extend(problems)
    if confusion.tiles == 0:
        raise DataError("no tile could be evaluated", "See the messages above for each file.", directory)
    return {**confusion.as_dict(), **(connectivity.as_dict() if connectivity is not None else {})}
