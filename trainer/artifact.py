"""Model artifacts: a directory (model.pth + model.json + code/), its model.tar.gz, or a bare state_dict.

``model.pth`` is a plain ``state_dict`` of the torchvision DeepLabV3 (``RoadSegNet.net``), always
read with ``torch.load(weights_only=True)``: a file holding code is refused, never run.
The seed's checkpoint (an ``nn.DataParallel`` state_dict of ``deeplabv3_resnet101`` with a
21-class aux head) loads too; the aux head is dropped with a note.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import shutil
import tarfile
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .errors import ModelLoadError
from .fsutil import atomic_write_text, atomic_writer
from .model import BACKBONES, RoadSegNet, build_model
from .model_errors import archive_reason, metadata_reason
from .model_meta import MetaFieldError, ModelMeta  # noqa: F401  (ModelMeta is imported from here too)

WEIGHTS_NAME = "model.pth"
META_NAME = "model.json"
SERVE_DIR = Path(__file__).resolve().parent / "serve"
_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar")
# A model (weights + metadata + serving code) is well under 1 GB; an archive unpacking to more is refused.
MAX_MODEL_BYTES = int(os.environ.get("ROADSEG_MAX_MODEL_BYTES", 1_000_000_000))
MAX_MODEL_MEMBERS = 1000  # model.pth, model.json, code/...: a handful


@dataclass
class LoadedModel:
    model: RoadSegNet
    meta: ModelMeta
    source: Path
    notes: list = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.meta.version


def file_version(path: str | os.PathLike) -> str:
    """Content hash prefix of a weights file: the model's version id."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def save_model_dir(model: torch.nn.Module, meta: ModelMeta, out_dir: str | os.PathLike) -> Path:
    """Write model.pth, model.json and the SageMaker serving code; sets ``meta.version`` and ``meta.backbone``."""
    model = getattr(model, "module", model)  # DistributedDataParallel / DataParallel
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.net.state_dict().items()}
    with atomic_writer(out_dir / WEIGHTS_NAME, "wb") as fh:
        torch.save(state, fh)
    meta.version = file_version(out_dir / WEIGHTS_NAME)
    meta.backbone = model.backbone
    atomic_write_text(out_dir / META_NAME, json.dumps(meta.to_dict(), indent=2, sort_keys=True) + "\n")
    code = out_dir / "code"
    code.mkdir(exist_ok=True)
    for name in ("inference.py", "requirements.txt"):
        atomic_write_text(code / name, (SERVE_DIR / name).read_text("utf-8"))
    return out_dir


def pack_model(model_dir: str | os.PathLike, tar_path: str | os.PathLike) -> Path:
    """Pack a model directory as the SageMaker ``model.tar.gz`` (files at the archive root)."""
    model_dir, tar_path = Path(model_dir), Path(tar_path)
    if not (model_dir / WEIGHTS_NAME).is_file():
        raise ModelLoadError(f"no {WEIGHTS_NAME} in this directory", "Pack a saved model directory.", model_dir)
    with atomic_writer(tar_path, "wb") as fh:
        # float weights barely compress: level 1 packs several times faster than the default 9.
        # Deterministic (no gzip name or time, fixed owner, mode and time): the same model packs to the same
        # bytes, so a launch reuses the copy already on S3 (keyed by content hash) instead of uploading again.
        with gzip.GzipFile(filename="", fileobj=fh, mode="wb", compresslevel=1, mtime=0) as packed, \
                tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as tar:
            # only the artifact itself: not checkpoints or anything else left in the folder
            items = [model_dir / WEIGHTS_NAME, model_dir / META_NAME, *sorted((model_dir / "code").glob("*"))]
            for item in items:
                if item.is_file() and item.suffix != ".pyc":
                    info = tar.gettarinfo(item, arcname=item.relative_to(model_dir).as_posix())
                    info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = 0, 0o644, 0, 0, "", ""
                    with open(item, "rb") as source:
                        tar.addfile(info, source)
    return tar_path


def unpack_model(tar_path: str | os.PathLike, dest_dir: str | os.PathLike) -> Path:
    """Extract a model.tar.gz with tarfile's ``data`` filter, after checking from the members' headers
    that it unpacks to at most MAX_MODEL_BYTES; each refusal says what the entry is."""
    tar_path, dest_dir = Path(tar_path), Path(dest_dir)
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            members = _checked_members(tar, tar_path)  # headers only: nothing is written yet
            dest_dir.mkdir(parents=True, exist_ok=True)
            tar.extractall(dest_dir, members=members, filter="data")
    except tarfile.FilterError as exc:
        raise ModelLoadError(f"archive entry {exc.tarinfo.name!r} refused: {archive_refusal(exc)}",
                             "A model archive holds only model.pth, model.json and code/; do not use this one.",
                             tar_path) from exc
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ModelLoadError(archive_reason(exc, tar_path), "Re-download model.tar.gz.", tar_path) from exc
    if (dest_dir / WEIGHTS_NAME).is_file():
        return dest_dir
    found = sorted(dest_dir.rglob(WEIGHTS_NAME))
    if not found:
        raise ModelLoadError(f"the archive holds no {WEIGHTS_NAME}", "", tar_path)
    return found[0].parent


def _checked_members(tar: tarfile.TarFile, tar_path: Path) -> list:
    """The members, read header by header and refused as soon as one is absolute or the running total
    of sizes or entries passes a model's (so a bomb of a billion empty entries is not listed either)."""
    members, total = [], 0
    for member in tar:
        # the data filter would quietly strip the leading '/'; an archive that has one was not made by us
        if member.name.startswith(("/", "\\")) or (len(member.name) > 1 and member.name[1] == ":"):
            raise ModelLoadError(f"archive entry {member.name!r} refused: it has an absolute path, which would "
                                 f"be written anywhere on this machine",
                                 "A model archive holds only model.pth, model.json and code/; do not use this one.",
                                 tar_path)
        members.append(member)
        total += member.size if member.isfile() else 0
        if total > MAX_MODEL_BYTES or len(members) > MAX_MODEL_MEMBERS:
            what = (f"at least {total / 1e6:,.1f} MB, over the {MAX_MODEL_BYTES / 1e6:,.1f} MB" if
                    total > MAX_MODEL_BYTES else f"over {MAX_MODEL_MEMBERS:,} entries, more than")
            raise ModelLoadError(f"the archive would unpack to {what} a model needs (a possible archive bomb); "
                                 f"refused before writing anything",
                                 "Use the model.tar.gz that roadseg or SageMaker wrote.", tar_path)
    return members


def archive_refusal(exc: tarfile.FilterError) -> str:
    """What the ``data`` filter refused, in words: a FIFO is not 'outside its folder'."""
    member = exc.tarinfo
    if isinstance(exc, tarfile.SpecialFileError):
        kind = ("a FIFO (named pipe)" if member.isfifo() else "a character device" if member.ischr()
                else "a block device" if member.isblk() else "a special file")
        return f"it is {kind}, not a regular file"
    if isinstance(exc, tarfile.AbsoluteLinkError):
        return f"it is a link to the absolute path {member.linkname}"
    if isinstance(exc, tarfile.LinkOutsideDestinationError):
        return f"it is a link that points outside the archive's folder ({member.linkname})"
    if isinstance(exc, tarfile.AbsolutePathError):
        return "it has an absolute path, which would be written anywhere on this machine"
    if isinstance(exc, tarfile.OutsideDestinationError):
        return "it would be written outside the archive's folder"
    return str(exc)


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Load a model dir, model.tar.gz, bare model.pth or the seed checkpoint, on the CPU in eval mode."""
    path = Path(path)
    if not path.exists():
        raise ModelLoadError("model not found", "Check the path.", path)
    if path.is_dir():
        return _load_dir(path)
    if path.name.lower().endswith(_TAR_SUFFIXES) or (
            path.suffix.lower() not in (".pth", ".pt") and tarfile.is_tarfile(path)):
        with tempfile.TemporaryDirectory(prefix="roadseg-model-") as tmp:
            try:
                loaded = _load_dir(unpack_model(path, tmp))
            except ModelLoadError as exc:  # name the archive, not a temp path that is about to vanish
                if exc.path is None or Path(exc.path) == path:
                    raise
                inner = os.path.relpath(exc.path, tmp)
                raise ModelLoadError(f"{inner}: {exc.what}" if inner != "." else exc.what, exc.fix,
                                     path) from exc
        loaded.source = path
        return loaded
    return _load_weights(path, None, [])


def _load_dir(directory: Path) -> LoadedModel:
    weights = directory / WEIGHTS_NAME
    if not weights.is_file():
        raise ModelLoadError(f"no {WEIGHTS_NAME} in this folder", "Point to a model folder, model.tar.gz or .pth.",
                             directory)
    meta, notes = None, []
    meta_path = directory / META_NAME
    if meta_path.is_file():
        try:
            meta = ModelMeta.from_dict(json.loads(meta_path.read_text("utf-8")))
        except MetaFieldError as exc:
            raise ModelLoadError(str(exc), "Fix that field, or restore model.json from the model's model.tar.gz.",
                                 meta_path) from exc
        except (ValueError, TypeError, RecursionError) as exc:  # not JSON, or a field this version cannot take
            raise ModelLoadError(metadata_reason(exc), "Restore it from the model's model.tar.gz.",
                                 meta_path) from exc
    else:
        notes.append(f"no {META_NAME} beside the weights: ImageNet normalisation and threshold 0.5 assumed")
    loaded = _load_weights(weights, meta, notes)
    loaded.source = directory
    return loaded


def read_state_dict(path: Path) -> dict:
    """torch.load(weights_only=True) with a sentence for each way a file can fail to be weights."""
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": our sentence says it better
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "global" in str(exc).lower():  # a reference to a function or class: code, not tensors
            raise ModelLoadError("the file holds Python objects or code, not just weights; refused for safety",
                                 "Load only model files from sources you trust, saved as a plain state_dict.",
                                 path) from exc
        raise ModelLoadError("not a PyTorch weights file", "Point to model.pth, model.tar.gz or a model folder.",
                             path) from exc
    except Exception as exc:  # RuntimeError (bad zip), EOFError, ValueError...
        raise ModelLoadError(f"not a PyTorch weights file ({exc.__class__.__name__})",
                             "Point to model.pth, model.tar.gz or a model folder.", path) from exc
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):  # training checkpoints wrap the weights
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise ModelLoadError(f"the file holds a {type(obj).__name__}, not a state_dict of tensors",
                             "Save the model with torch.save(model.state_dict(), path).", path)
    return obj


def normalize_state_dict(state: dict) -> tuple[dict, str, list[str], bool]:
    """Strip wrapper prefixes, drop the aux head, recognise the backbone.

    Returns (state, backbone, notes, is_seed) or raises ValueError with the reason."""
    notes, is_seed = [], False
    for prefix in ("module.", "net."):
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
            if prefix == "module.":
                notes.append("removed the nn.DataParallel 'module.' prefix from the weights")
    aux = {k: v for k, v in state.items() if k.startswith("aux_classifier.")}
    if aux:
        state = {k: v for k, v in state.items() if not k.startswith("aux_classifier.")}
        last = [v for k, v in sorted(aux.items()) if k.endswith("4.weight")]
        classes = int(last[0].shape[0]) if last else "?"
        is_seed = classes == 21
        notes.append(f"dropped the {classes}-class auxiliary head (aux_classifier); roadseg does not use it")
    head = state.get("classifier.4.weight")
    if head is None:
        raise ValueError("it is not a DeepLabV3 state_dict (no classifier.4 layer)")
    if head.shape[0] != 1:
        raise ValueError(f"its classifier has {head.shape[0]} output classes; a road model has 1 road logit")
    return state, _detect_backbone(state), notes, is_seed


def _detect_backbone(state: dict) -> str:
    if "backbone.layer1.0.conv1.weight" in state:
        blocks = {int(k.split(".")[2]) for k in state if k.startswith("backbone.layer3.")}
        return {6: "resnet50", 23: "resnet101"}.get(len(blocks)) or _unknown(f"ResNet with {len(blocks)} layer3 blocks")
    if "backbone.0.0.weight" in state and "backbone.16.0.weight" in state:
        return "mobilenet_v3_large"
    return _unknown("an unknown backbone")


def _unknown(what: str) -> str:
    raise ValueError(f"its backbone is {what}; supported: {', '.join(BACKBONES)}")


def _refuse_non_finite(state: dict, path: Path) -> None:
    """NaN or infinite weights load fine and predict garbage: refuse them with a count and a tensor name."""
    bad = {k: int((~torch.isfinite(v)).sum()) for k, v in state.items() if v.is_floating_point()}
    bad = {k: n for k, n in bad.items() if n}
    if bad:
        first = next(iter(bad))
        raise ModelLoadError(f"the weights hold {sum(bad.values())} non-finite values (NaN or infinity), "
                             f"in {len(bad)} tensor(s) starting with {first}",
                             "The file is damaged or training diverged; use an earlier model.", path)


def _load_weights(path: Path, meta: ModelMeta | None, notes: list[str]) -> LoadedModel:
    state = read_state_dict(path)
    _refuse_non_finite(state, path)
    try:
        state, backbone, more_notes, is_seed = normalize_state_dict(state)
    except ValueError as exc:
        raise ModelLoadError(f"not a roadseg model: {exc}",
                             "Use a model trained by roadseg (model.pth/model.tar.gz) or the seed checkpoint.",
                             path) from exc
    notes = notes + more_notes
    if meta is None:
        meta = ModelMeta(backbone=backbone, created="")
        if is_seed:  # the seed scaled pixels to 0..1 and nothing else
            meta.mean, meta.std = [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
            notes.append("seed checkpoint: inputs scaled to 0..1 without ImageNet normalisation, as it was trained")
    elif meta.backbone != backbone:
        raise ModelLoadError(f"model.json says backbone {meta.backbone} but the weights are {backbone}",
                             "The folder mixes two models; restore it from model.tar.gz.", path)
    model = build_model(backbone, pretrained_backbone=False)
    try:
        model.net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()
        raise ModelLoadError(f"weights do not fit a DeepLabV3-{backbone}: {' '.join(detail[1:3])[:300]}",
                             "The file is damaged or from another architecture.", path) from exc
    model.eval()
    if not meta.version:
        meta.version = file_version(path)
    return LoadedModel(model=model, meta=meta, source=path, notes=notes)


def state_dict_bytes(model: RoadSegNet) -> bytes:
    buf = io.BytesIO()
    torch.save(model.net.state_dict(), buf)
    return buf.getvalue()


def copy_model_dir(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Copy a model directory (e.g. into the workspace registry), replacing ``dst`` whole."""
    src, dst = Path(src), Path(dst)
    tmp = dst.with_name(f".{dst.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)
    return dst
