"""One bad pull entry is refused with its reason; the rest of the pull goes on.

Bad entries: names no file system holds (over 255 bytes), names Windows cannot hold
(reserved device names, <>:"|?* characters), names with bidirectional-override characters
that disguise their extension, and a local folder where a file would go."""

from __future__ import annotations

import pytest

from roadseg_gui.core.sync import pull, push
from roadseg_gui.core.sync.keys import UnsafeKeyError, check_name

from sync_helpers import BUCKET, PREFIX, URI, local_files, make_workspace

LONG_OK = "t" * 246          # + ".jpg" = 250 bytes: holds, but the old temp name did not
TOO_LONG = "x" * 296         # + ".jpg" = 300 bytes
WINDOWS = ["CON", "nul.tar", "com1", "LPT9", "a:b*c?", 'say"hi"', "pipe|d", "lt<gt>"]
BIDI = "invoice\u202egnp.exe"   # shows as "invoiceexe.png"


def put_pair(client, stem, image: bytes, mask: bytes, split="train"):
    client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{split}/images/{stem}.jpg", Body=image)
    client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{split}/masks/{stem}.png", Body=mask)


def test_bad_entries_are_refused_one_by_one_and_the_rest_is_pulled(tmp_path, s3_server, s3_client):
    source = make_workspace(tmp_path / "source", s3_server, train=3, test=1)
    push(source, URI)
    image = (source / "train/images/tile_00000.jpg").read_bytes()
    mask = (source / "train/masks/tile_00000.png").read_bytes()
    for stem in (LONG_OK, TOO_LONG, *WINDOWS, BIDI):
        put_pair(s3_client, stem, image, mask)
    target = tmp_path / "target"
    (target / "train/masks/tile_00001.png").mkdir(parents=True)    # a folder named like a mask

    report = pull(URI, target, endpoint_url=s3_server)

    errors = "\n".join(report.errors)
    assert "300 bytes" in errors and "255" in errors
    for stem in WINDOWS:
        assert repr(f"{PREFIX}/train/images/{stem}.jpg") in errors, stem
    assert "Windows" in errors
    assert "bidirectional" in errors and repr(f"{PREFIX}/train/images/{BIDI}.jpg") in errors
    assert "train/masks/tile_00001.png is a folder here" in errors
    assert report.refused == 2 * (2 + len(WINDOWS)) and report.failed == 1
    assert report.uploaded == 4                     # tile_00000, _00002, _00003 and the 250-byte pair
    pulled = local_files(target)
    assert f"train/images/{LONG_OK}.jpg" in pulled and f"train/masks/{LONG_OK}.png" in pulled
    assert (target / f"train/masks/{LONG_OK}.png").read_bytes() == mask
    assert not any(stem in rel for rel in pulled for stem in (TOO_LONG, *WINDOWS, BIDI))
    for rel in ("train/images/tile_00002.jpg", "train/masks/tile_00002.png", "test/masks/tile_00003.png"):
        assert (target / rel).read_bytes() == (source / rel).read_bytes()
    assert (target / "train/masks/tile_00001.png").is_dir()          # left as it was
    assert not any(p.name.endswith(".tmp") for p in target.rglob("*"))

    (target / "train/masks/tile_00001.png").rmdir()              # the person moves it aside
    again = pull(URI, target)
    assert again.failed == 0 and again.uploaded == 1
    assert (target / "train/masks/tile_00001.png").read_bytes() == (source / "train/masks/tile_00001.png").read_bytes()


@pytest.mark.parametrize("name", ["CON.png", "con.jpg", "Aux.tar.png", "COM1.jpg", "lpt3.png", "NUL",
                                  "a:b.png", "a*b.png", "what?.png", "x<y.png", "x>y.png", 'q"q.png', "p|q.png",
                                  "ends.", "ends ", "r\u202eb.png", "r\u2066b.png", "r\u200fb.png",
                                  "x" * 252 + ".png"])
def test_names_that_some_system_cannot_hold_are_refused(name):
    with pytest.raises(UnsafeKeyError):
        check_name(name)


@pytest.mark.parametrize("name", ["console.png", "CONN.jpg", "com10.png", "a b é.png", "t" * 251 + ".png",
                                  "tile_0001.jpg", "道路.png"])
def test_ordinary_names_still_pass(name):
    check_name(name)
