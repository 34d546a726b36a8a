"""Training data: image/mask pairs by file stem, joint augmentation, ImageNet normalisation.

Layouts: ``ROOT/{train,test}/{images,masks}/`` (the S3 layout; SageMaker's single
``training`` channel), or a split directory that directly holds ``images/`` and ``masks/``
(separate ``train`` / ``test`` channels). The file list is built once per run; a pair that
cannot be used is reported once, by name with the reason, and skipped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from .errors import BadInputError, DataError
from .imageio import image_size, is_image_file, read_image, read_mask
from .listing import list_folder
from .model import IMAGENET_MEAN, IMAGENET_STD

log = logging.getLogger(__name__)

IGNORE = 255  # target value of padded pixels: no loss, no metric
MASK_SUFFIXES = (".png", ".tif", ".tiff")


@dataclass(frozen=True)
class Pair:
    stem: str
    image: Path
    mask: Path


@dataclass
class SplitFiles:
    """The usable pairs of one split and the ones skipped, as (name, reason)."""

    name: str
    directory: Path
    pairs: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    def summary(self) -> dict:
        return {"directory": str(self.directory), "pairs": len(self.pairs),
                "skipped": [f"{name}: {reason}" for name, reason in self.skipped]}


def split_directory(path: str | os.PathLike, split: str) -> Path:
    """The directory holding ``images/`` and ``masks/`` for ``split``: PATH/split, or PATH itself."""
    path = Path(path)
    for candidate in (path / split, path):
        if (candidate / "images").is_dir():
            return candidate
    raise DataError(f"no {split}/images/ folder (and no images/ folder) here",
                    f"Use the layout {split}/images/STEM.jpg + {split}/masks/STEM.png.", path)


def list_pairs(directory: str | os.PathLike, name: str = "") -> SplitFiles:
    """Pair ``images/STEM.*`` with ``masks/STEM.png``, checking sizes from the headers only."""
    directory = Path(directory)
    found = SplitFiles(name or directory.name, directory)
    images: dict[str, Path] = {}
    image_files = list_folder(directory / "images", is_image_file)
    found.skipped += [(path.name, reason) for path, reason in image_files.skipped]
    for path in image_files.files:
        stem = path.stem
        if stem in images:
            found.skipped.append((path.name, f"another image has the same stem ({images[stem].name})"))
            continue
        images[stem] = path
    masks: dict[str, Path] = {}
    broken_masks: dict[str, str] = {}  # stem -> why its mask cannot be read (a link loop, a pipe...)
    mask_dir = directory / "masks"
    if mask_dir.is_dir():
        mask_files = list_folder(mask_dir, lambda n: Path(n).suffix.lower() in MASK_SUFFIXES)
        broken_masks = {path.stem: f"its mask masks/{path.name} cannot be read: {reason}"
                        for path, reason in mask_files.skipped}
        for path in mask_files.files:
            # .png wins over a .tif of the same stem
            if path.stem not in masks or path.suffix.lower() == ".png":
                masks[path.stem] = path
    for stem, image in images.items():
        mask = masks.get(stem)
        if mask is None:
            found.skipped.append((image.name, broken_masks.get(stem, f"no mask (expected masks/{stem}.png)")))
            continue
        try:
            image_hw, mask_hw = image_size(image), image_size(mask)
        except BadInputError as exc:
            found.skipped.append((image.name, exc.what))
            continue
        if image_hw != mask_hw:
            found.skipped.append((image.name, f"image is {image_hw[1]}x{image_hw[0]} but its mask is "
                                              f"{mask_hw[1]}x{mask_hw[0]}"))
            continue
        found.pairs.append(Pair(stem, image, mask))
    for name, reason in found.skipped:
        log.warning("skipped %s/%s: %s", found.name, name, reason)
    if not found.pairs:
        raise DataError(f"no usable image/mask pair in the {found.name} split ({len(found.skipped)} skipped)",
                        "Put images in images/ and 0/255 PNG masks with the same file stem in masks/.", directory)
    return found


def resolve_splits(data: str | os.PathLike | None = None, train: str | os.PathLike | None = None,
                   test: str | os.PathLike | None = None) -> tuple[SplitFiles, SplitFiles]:
    """Train and test pairs from one root (``data``) or two channel directories."""
    if train is None or test is None:
        if data is None:
            raise DataError("no training data given", "Pass --data DIR (holding train/ and test/).")
    train_dir = split_directory(train if train is not None else data, "train")
    test_dir = split_directory(test if test is not None else data, "test")
    if train_dir.resolve() == test_dir.resolve():
        raise DataError("the train and test data are the same folder",
                        "Keep held-out test tiles in test/ so the metrics mean something.", train_dir)
    return list_pairs(train_dir, "train"), list_pairs(test_dir, "test")


def _as_tv(image: np.ndarray, mask: np.ndarray) -> tuple[tv_tensors.Image, tv_tensors.Mask]:
    return (tv_tensors.Image(torch.from_numpy(np.require(image, requirements=["C", "W"])).permute(2, 0, 1)),
            tv_tensors.Mask(torch.from_numpy(mask.astype(np.uint8))[None]))


def load_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 H x W x 3 image, bool H x W mask); BadInputError when either cannot be used."""
    image, mask = read_image(pair.image), read_mask(pair.mask)
    if image.shape[:2] != mask.shape:
        raise BadInputError(f"image is {image.shape[1]}x{image.shape[0]} but its mask is "
                            f"{mask.shape[1]}x{mask.shape[0]}", "", pair.image)
    return image, mask


# Augmentation strengths, weakest first. "flips": flips and 90-degree turns (exact, no resampling);
# "color": + brightness/contrast/saturation jitter; "strong": + any rotation, 0.75-1.33x scale and blur.
AUGMENT_LEVELS = ("none", "flips", "color", "strong")
DEFAULT_AUGMENT = "color"
_PAD = {tv_tensors.Image: 0, tv_tensors.Mask: IGNORE}


def augment_level(augment: bool | str) -> str:
    """``True`` means the default strength, ``False`` none; otherwise one of AUGMENT_LEVELS."""
    if augment is True:
        return DEFAULT_AUGMENT
    if augment is False or augment is None:
        return "none"
    if augment not in AUGMENT_LEVELS:
        raise DataError(f"unknown augmentation strength {augment!r}", f"Use one of: {', '.join(AUGMENT_LEVELS)}.")
    return augment


def augmentation(level: str, image_size: int | None):
    """The joint image + mask transform for a strength (90-degree turns are applied in the dataset)."""
    steps = []
    if level == "strong":  # scale and rotate before cropping, so the crop holds no corner padding more often
        steps.append(v2.RandomAffine(degrees=180, scale=(0.75, 1.33), fill=_PAD))
    if image_size:
        steps.append(v2.RandomCrop(image_size, pad_if_needed=True, fill=_PAD))
    if level != "none":
        steps += [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
    if level == "color":
        steps.append(v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.15, hue=0.02))
    elif level == "strong":
        steps += [v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05),
                  v2.RandomApply([v2.GaussianBlur(5, sigma=(0.1, 1.5))], p=0.3)]
    return v2.Compose(steps) if steps else None


class RoadDataset(Dataset):
    """Normalised image (3 x H x W float) and target (H x W uint8: 0, 1, or IGNORE for padding).

    For training only: a tile that cannot be read is reported once and replaced by the next one
    (an epoch keeps its length); evaluation uses ``EvalTiles``, which never substitutes."""

    def __init__(self, pairs: list, image_size: int | None = None, augment: bool | str = False,
                 mean=IMAGENET_MEAN, std=IMAGENET_STD):
        self.pairs = list(pairs)
        self.image_size = image_size
        self.augment = augment_level(augment)
        self.normalize = v2.Normalize(list(mean), list(std))
        self.transform = augmentation(self.augment, image_size)
        self._reported: set[str] = set()

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return load_pair(self.pairs[index])

    def __getitem__(self, index: int):
        for attempt in range(len(self.pairs)):
            i = (index + attempt) % len(self.pairs)
            try:
                image, mask = self.load(i)
                break
            except BadInputError as exc:  # e.g. a truncated JPEG whose header looked fine
                if exc.path not in self._reported:
                    self._reported.add(exc.path)
                    log.warning("skipped %s: %s", Path(exc.path or "?").name, exc.what)
        else:
            raise DataError("no tile of this split could be read", "", self.pairs[0].image.parent)
        image_t, mask_t = _as_tv(image, mask)
        if self.transform is not None:
            image_t, mask_t = self.transform(image_t, mask_t)
        if self.augment != "none":
            turns = int(torch.randint(0, 4, ()).item())  # 90-degree rotations: exact, no resampling
            if turns:
                image_t, mask_t = torch.rot90(image_t, turns, (-2, -1)), torch.rot90(mask_t, turns, (-2, -1))
        image_f = self.normalize(image_t.as_subclass(torch.Tensor).float().div_(255.0))
        return image_f.contiguous(), mask_t.as_subclass(torch.Tensor)[0].contiguous()


@dataclass(frozen=True)
class Unreadable:
    """A test tile that could not be read: left out of the metrics, reported by name."""

    name: str
    reason: str


class EvalTiles(Dataset):
    """Test tiles as they are on disk: (name, uint8 H x W x 3 image, uint8 H x W target of 0/1), or
    ``Unreadable(name, reason)``: evaluation skips such a tile and never counts another in its place."""

    def __init__(self, pairs: list):
        self.pairs = list(pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int):
        pair = self.pairs[index]
        try:
            image, mask = load_pair(pair)
        except BadInputError as exc:
            return Unreadable(pair.image.name, exc.what)
        return pair.image.name, image, mask.astype(np.uint8)


def batches_by_size(pairs: list, indices, batch_size: int) -> list[list[int]]:
    """``indices`` in batches of up to ``batch_size`` tiles of one size (from the headers), so
    that no tile is ever padded to a neighbour's size; order is kept within each size."""
    groups: dict[object, list[int]] = {}
    for index in indices:
        try:
            key = image_size(pairs[index].image)
        except BadInputError:
            key = ("unreadable", index)  # alone in its batch; EvalTiles reports it
        groups.setdefault(key, []).append(index)
    return [group[start:start + batch_size] for group in groups.values()
            for start in range(0, len(group), max(1, batch_size))]


def as_list(batch: list) -> list:
    """collate_fn for ``EvalTiles``: items stay as they are (sizes and skips are the loop's business)."""
    return batch
