"""Evaluate a model on a labelled split: road IoU, F1, precision, recall over the whole set,
and pixel accuracy only beside the all-background accuracy of the same pixels."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .artifact import LoadedModel, load_model
from .data import list_pairs
from .errors import BadInputError, DataError
from .imageio import read_image, read_mask
from .metrics import Confusion

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
             engine: str = "torch", tile: int = 512, overlap: int = 64, skipped: list | None = None) -> dict:
    """Metrics of ``model`` on the test split of ``data_dir``; unusable pairs are reported and skipped
    (appended to ``skipped`` as (name, reason) when given)."""
    from .predict import Predictor

    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    directory = evaluation_directory(data_dir)
    files = list_pairs(directory, directory.name)
    predictor = Predictor(loaded, device=device, tile=tile, overlap=overlap, engine=engine)
    confusion = Confusion()
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
        confusion.add(predictor.predict(image).mask, truth)
    if skipped is not None:
        skipped.extend(problems)
    if confusion.tiles == 0:
        raise DataError("no tile could be evaluated", "See the messages above for each file.", directory)
    return confusion.as_dict()
