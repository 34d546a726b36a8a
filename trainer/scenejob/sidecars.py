"""The files a scene needs beside it: world files, .aux.xml, external overviews, and a VRT's sources.

GDAL reads a scene's georeferencing from ``a.tfw`` (+ ``a.prj``) or ``a.tif.aux.xml`` and its
overviews from ``a.tif.ovr`` when they lie beside it; a VRT names its source rasters. A scene
fetched alone would be predicted without them, silently in the wrong place (or not at all), so
they travel with it, or the scene is reported unreadable with the reason.
"""

from __future__ import annotations

import os
import posixpath
import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import BadInputError

# beside a.tif: a.tfw, a.prj, a.aux.xml ... (a.tif.aux.xml, a.tif.ovr, a.tif.msk are matched by full name)
STEM_SUFFIXES = (".tfw", ".tifw", ".tiffw", ".wld", ".prj", ".aux.xml", ".ovr", ".jgw", ".j2w", ".jp2.aux.xml")


def sidecar_names(scene_name: str, names) -> list[str]:
    """The names among ``names`` (files of the scene's folder) that belong to ``scene_name``."""
    stem = scene_name.rsplit(".", 1)[0]
    wanted = {stem + suffix for suffix in STEM_SUFFIXES}
    return sorted(n for n in names if n != scene_name and (n in wanted or n.startswith(scene_name + ".")))


def vrt_sources(path: Path) -> list[str]:
    """A VRT's source files, as POSIX paths relative to its folder (``/vsi…`` sources are GDAL's to read).
    A source given as an absolute local path cannot travel with the VRT: BadInputError says so."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise BadInputError(f"cannot read the VRT ({exc})", "Re-export it.", path) from exc
    sources = []
    for element in root.iter("SourceFilename"):
        name = (element.text or "").strip()
        if not name or name.startswith("/vsi"):
            continue
        if element.get("relativeToVRT", "0") != "1" and (name.startswith("/") or ":" in name[:3]):
            raise BadInputError(f"its source {name} is an absolute path, which does not travel with it",
                                "Write the VRT with sources relative to it (gdalbuildvrt from the scenes' folder) "
                                "and keep them under the input.", path)
        sources.append(posixpath.normpath(name.replace("\\", "/")))
    return sorted(set(sources))


def missing_source(path: Path) -> str | None:
    """Why a local VRT cannot be read (a source absent beside it), or None."""
    for source in vrt_sources(path):
        if not (Path(path).parent / source).is_file():
            return (f"its source {source} did not arrive with it; keep a VRT's sources under the input prefix, "
                    f"named relative to the VRT")
    return None


def move_with_sidecars(scene: Path, target: Path) -> Path:
    """Move ``scene`` to ``target`` with its sidecars, renamed after the target (``a.tfw`` beside ``a.tif``
    becomes ``b.tfw`` beside ``b.tif``); a VRT's sources stay where they are and the moved VRT names them
    relative to its new place."""
    scene, target = Path(scene), Path(target)
    stem, new_stem = scene.name.rsplit(".", 1)[0], target.name.rsplit(".", 1)[0]
    target.parent.mkdir(parents=True, exist_ok=True)
    for name in sidecar_names(scene.name, [p.name for p in scene.parent.iterdir() if p.is_file()]):
        renamed = target.name + name[len(scene.name):] if name.startswith(scene.name + ".") else \
            new_stem + name[len(stem):]
        (scene.parent / name).replace(target.parent / renamed)
    if scene.suffix.lower() != ".vrt":
        return scene.replace(target)
    tree = ET.parse(scene)
    for element in tree.getroot().iter("SourceFilename"):
        name = (element.text or "").strip()
        if not name or name.startswith("/vsi") or element.get("relativeToVRT", "0") != "1":
            continue
        source = (scene.parent / name.replace("\\", "/")).resolve()
        element.text = Path(os.path.relpath(source, target.parent.resolve())).as_posix()
    tree.write(target, encoding="unicode")
    scene.unlink()
    return target
