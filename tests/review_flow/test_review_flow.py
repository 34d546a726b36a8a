"""Two annotators and a reviewer as real `roadseg` processes against the moto S3 server."""

from __future__ import annotations

import pytest

from review_flow_helpers import (annotator_workspace, configure, pull, remote_bytes, remote_record, roadseg,
                                 sync)
from sync_helpers import edit_mask, remote_objects


def training_keys(client) -> list[str]:
    return sorted(k for k in remote_objects(client) if k.split("/")[0] in ("train", "test"))


def test_return_fix_approve_reaches_training_only_when_approved(tmp_path, s3_server, s3_client):
    alice, stem = annotator_workspace(tmp_path / "alice", s3_server, "alice", require_review=True)
    rita = configure(tmp_path / "rita", s3_server, "rita", require_review=True)

    sync(alice)
    keys = remote_objects(s3_client)
    assert f"review-queue/train/masks/{stem}.png" in keys
    assert training_keys(s3_client) == []           # not approved: nothing a training job reads
    record = remote_record(s3_client, stem)
    assert (record["state"], record["annotator"]) == ("accepted", "alice")

    pull(rita, s3_server)
    assert (rita / "train/masks" / f"{stem}.png").read_bytes() == (alice / "train/masks" / f"{stem}.png").read_bytes()
    assert "alice" in roadseg("review", rita, "--list").stdout
    roadseg("review", rita, "--return", stem, "--note", "the road at the top is missing", "--at", "5,3")
    sync(rita)
    assert remote_record(s3_client, stem)["state"] == "returned"

    pulled = pull(alice, s3_server).stdout
    assert f'review: {stem} returned by rita: "the road at the top is missing" at (5, 3)' in pulled
    listing = roadseg("review", alice, "--list").stdout
    assert "returned" in listing and "the road at the top is missing" in listing and "(5, 3)" in listing
    edit_mask(alice, stem, 3)                         # alice fixes it
    sync(alice)
    assert remote_record(s3_client, stem)["state"] == "accepted"
    assert remote_record(s3_client, stem)["first_review"] is False
    assert training_keys(s3_client) == []

    pull(rita, s3_server)
    fixed = (alice / "train" / "masks" / f"{stem}.png").read_bytes()
    assert (rita / "train" / "masks" / f"{stem}.png").read_bytes() == fixed
    edit_mask(rita, stem, 4)                          # the reviewer corrects a little, then approves
    approved = roadseg("review", rita, "--approve", stem).stdout
    assert "IoU" in approved
    assert training_keys(s3_client) == []             # approved here, not yet synced
    sync(rita)
    assert training_keys(s3_client) == sorted([f"train/images/{stem}.jpg", f"train/masks/{stem}.png"])
    assert remote_bytes(s3_client, f"train/masks/{stem}.png") == (rita / "train/masks" / f"{stem}.png").read_bytes()
    record = remote_record(s3_client, stem)
    assert (record["state"], record["reviewer"], record["annotator"]) == ("approved", "rita", "alice")
    assert 0.0 <= record["iou"] < 1.0 and 0.0 <= record["apls"] <= 1.0
    assert record["notes"][0]["text"] == "the road at the top is missing"

    pull(alice, s3_server)          # alice's copy was only stale: she gets the approved mask, no conflict
    assert (alice / "train/masks" / f"{stem}.png").read_bytes() == (rita / "train/masks" / f"{stem}.png").read_bytes()
    assert "approved" in roadseg("review", alice, "--list").stdout
    assert "conflict" not in roadseg("review", alice, "--list").stdout

    edit_mask(alice, stem, 6)                         # a change after approval needs review again
    sync(alice)
    assert remote_bytes(s3_client, f"train/masks/{stem}.png") == (rita / "train/masks" / f"{stem}.png").read_bytes()
    assert remote_bytes(s3_client, f"review-queue/train/masks/{stem}.png") == \
        (alice / "train/masks" / f"{stem}.png").read_bytes()
    assert (remote_record(s3_client, stem)["state"], remote_record(s3_client, stem)["annotator"]) == \
        ("accepted", "alice")

    stats = roadseg("stats", rita).stdout        # quality per annotator: returned once, agreement < 1
    review_part = stats.split("Review quality per annotator")[1]
    alice_row = next(line for line in review_part.splitlines() if line.startswith("alice")).split()
    assert alice_row[:5] == ["alice", "1", "0", "%", "1"], stats    # reviewed, approved 1st, returned
    assert float(alice_row[5]) < 1.0


def test_without_require_review_pairs_train_at_once_and_decisions_travel(tmp_path, s3_server, s3_client):
    alice, stem = annotator_workspace(tmp_path / "alice", s3_server, "alice", require_review=False)
    rita = configure(tmp_path / "rita", s3_server, "rita", require_review=False)
    sync(alice)
    # today's behaviour: the pair trains at once, and S3 holds nothing else
    assert sorted(remote_objects(s3_client)) == sorted([f"train/images/{stem}.jpg", f"train/masks/{stem}.png"])

    pull(rita, s3_server)
    edit_mask(rita, stem, 7)                          # the reviewer shows what she means, and returns it
    roadseg("review", rita, "--return", stem, "--note", "dead end at the bridge")
    sync(rita)
    assert (remote_record(s3_client, stem)["state"], remote_record(s3_client, stem)["reviewer"]) == \
        ("returned", "rita")
    pull(alice, s3_server)
    assert "dead end at the bridge" in roadseg("review", alice, "--list").stdout
    edit_mask(alice, stem, 2)
    sync(alice)
    record = remote_record(s3_client, stem)
    assert (record["state"], record["annotator"]) == ("accepted", "alice")
    assert not any(k.startswith("review-queue/") for k in remote_objects(s3_client))


def test_two_reviewers_on_one_tile_give_a_conflict_not_a_lost_decision(tmp_path, s3_server, s3_client):
    alice, stem = annotator_workspace(tmp_path / "alice", s3_server, "alice", require_review=True)
    rita = configure(tmp_path / "rita", s3_server, "rita", require_review=True)
    rob = configure(tmp_path / "rob", s3_server, "rob", require_review=True)
    sync(alice)
    pull(rita, s3_server)
    pull(rob, s3_server)

    roadseg("review", rita, "--approve", stem)
    sync(rita)
    roadseg("review", rob, "--return", stem, "--note", "wrong width")
    refused = sync(rob, ok=False)
    assert refused.returncode != 0
    assert "conflict" in refused.stderr and stem in refused.stderr and "rita made it approved" in refused.stderr
    record = remote_record(s3_client, stem)
    assert (record["state"], record["reviewer"]) == ("approved", "rita")   # rita's decision stands
    listing = roadseg("review", rob, "--list").stdout
    assert "returned" in listing and "wrong width" in listing and "conflict" in listing   # rob's is kept
    again = sync(rob, ok=False)                         # not overwritten on a retry either
    assert again.returncode != 0 and remote_record(s3_client, stem)["state"] == "approved"

    roadseg("review", rob, "--take-theirs", stem)
    listing = roadseg("review", rob, "--list").stdout
    assert "approved" in listing and "conflict" not in listing
    sync(rob)
    assert remote_record(s3_client, stem)["reviewer"] == "rita"


@pytest.mark.parametrize("choice", ["--take-theirs", "--keep-mine"])
def test_a_queued_pair_changed_on_both_sides_is_a_conflict_the_annotator_resolves(tmp_path, s3_server, s3_client,
                                                                                   choice):
    alice, stem = annotator_workspace(tmp_path / "alice", s3_server, "alice", require_review=True)
    rita = configure(tmp_path / "rita", s3_server, "rita", require_review=True)
    mask = f"train/masks/{stem}.png"
    sync(alice)
    pull(rita, s3_server)
    edit_mask(rita, stem, 5)                          # the reviewer draws what she means and returns it
    roadseg("review", rita, "--return", stem, "--note", "like this")
    sync(rita)
    ritas = (rita / mask).read_bytes()
    assert remote_bytes(s3_client, f"review-queue/{mask}") == ritas

    edit_mask(alice, stem, 8)                         # alice changed it too, before pulling
    alices = (alice / mask).read_bytes()
    refused = sync(alice, ok=False)
    assert "conflict" in refused.stderr and "--keep-mine|--take-theirs" in refused.stderr
    assert remote_bytes(s3_client, f"review-queue/{mask}") == ritas     # never overwritten
    assert pull(alice, s3_server, ok=False).returncode != 0             # still hers here: a conflict
    assert (alice / mask).read_bytes() == alices
    assert "conflict" in roadseg("review", alice, "--list").stdout

    if choice == "--keep-mine":
        roadseg("review", alice, "--keep-mine", stem)
        sync(alice)
        assert remote_bytes(s3_client, f"review-queue/{mask}") == alices
        return
    roadseg("review", alice, "--take-theirs", stem)
    assert (alice / mask).read_bytes() == ritas
    assert (alice / ".roadseg/review/mine" / f"{stem}.png").read_bytes() == alices   # hers is kept
    edit_mask(alice, stem, 8)
    roadseg("review", alice, "--keep-mine", stem, ok=False)            # nothing left to choose
    sync(alice)
    assert remote_bytes(s3_client, f"review-queue/{mask}") == (alice / mask).read_bytes()
    assert remote_record(s3_client, stem)["state"] == "accepted"
