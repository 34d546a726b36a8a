"""Review input that is wrong: hostile or foreign records on S3, and CLI misuse, are one sentence each."""

from __future__ import annotations

from review_flow_helpers import annotator_workspace, configure, roadseg, sync
from sync_helpers import BUCKET, PREFIX, URI, edit_mask

from roadseg_gui.core.review_state import store
from roadseg_gui.core.sync import pending_pairs, pull, push


def test_foreign_and_hostile_review_records_are_refused_and_the_rest_pulled(tmp_path, s3_server, s3_client):
    alice, stem = annotator_workspace(tmp_path / "alice", s3_server, "alice", require_review=True)
    sync(alice)
    s3_client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/review/train/other.json", Body=b"{not json")
    s3_client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/review/train/.hidden.json", Body=b"{}")
    s3_client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/review/train/huge.json",
                         Body=b'{"state": "approved", "notes": [' + b" " * (2 << 20) + b"]}")
    rita = configure(tmp_path / "rita", s3_server, "rita", require_review=True)
    report = pull(URI, rita, endpoint_url=s3_server, workers=2)
    assert report.refused == 3 and report.exit_code != 0
    assert any("other.json" in e and "not a review record" in e for e in report.errors)
    assert any("huge.json" in e and "larger than" in e for e in report.errors)
    assert (rita / "train" / "masks" / f"{stem}.png").is_file()
    conn = store.connect(rita)
    assert [r.stem for r in store.all_records(conn)] == [stem]


def test_review_cli_misuse_is_one_sentence(tmp_path, s3_server):
    missing = roadseg("review", tmp_path / "nowhere", "--list", ok=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    alice, stem = annotator_workspace(tmp_path / "alice", s3_server, "alice", require_review=False)
    no_note = roadseg("review", alice, "--return", stem, ok=False)
    assert no_note.returncode == 1 and "needs a note" in no_note.stderr and "Traceback" not in no_note.stderr
    bad_point = roadseg("review", alice, "--return", stem, "--note", "x", "--at", "left", ok=False)
    assert "is not a pixel position" in bad_point.stderr
    unknown = roadseg("review", alice, "--approve", "nope", ok=False)
    assert unknown.returncode == 1 and "'nope' has no accepted mask" in unknown.stderr
    assert "no tile has a review state yet" in roadseg("review", alice, "--list").stdout


def test_a_dry_run_with_require_review_shows_the_queue_not_train(tmp_path, s3_server):
    alice, stem = annotator_workspace(tmp_path / "alice", s3_server, "alice", require_review=True)
    report = push(alice, URI, dry_run=True)
    lines = "\n".join(report.plan)
    assert f"put review-queue/train/masks/{stem}.png" in lines and "put train/" not in lines, lines
    assert report.planned == 1


def test_a_decision_sent_but_not_recorded_converges_instead_of_conflicting(tmp_path, s3_server, s3_client):
    from roadseg_gui.core.review_state import decisions, transport
    from roadseg_gui.core.sync import SyncReport, parse_s3_uri

    alice, stem = annotator_workspace(tmp_path / "alice", s3_server, "alice", require_review=False)
    conn, dest = store.connect(alice), parse_s3_uri(URI)
    decisions.return_tile(conn, alice, stem, "rita", "fix the junction")
    assert transport.push_records(s3_client, conn, dest, SyncReport(), ("returned",)) == set()
    sent = store.get_record(conn, stem)
    sent.remote_etag, sent.dirty = "", True          # as if killed after the PUT, before recording its ETag
    store.save_record(conn, sent)
    report = SyncReport()
    assert transport.push_records(s3_client, conn, dest, report, ("returned",)) == set()
    assert report.conflicts == 0 and report.ok
    rec = store.get_record(conn, stem)
    assert rec.remote_etag and not rec.dirty and not rec.conflict


def test_with_require_review_a_queued_pair_is_not_pending_for_ever(tmp_path, s3_server, s3_client):
    alice, stem = annotator_workspace(tmp_path / "alice", s3_server, "alice", require_review=True)
    assert pending_pairs(alice) == [stem]
    sync(alice)
    assert pending_pairs(alice) == []                  # in the review queue as it is here
    edit_mask(alice, stem, 9)
    assert pending_pairs(alice) == [stem]


def test_a_foreign_record_in_the_way_of_a_decision_is_a_conflict_not_overwritten(tmp_path, s3_server, s3_client):
    from roadseg_gui.core.review_state import decisions, transport
    from roadseg_gui.core.sync import SyncReport, parse_s3_uri

    alice, stem = annotator_workspace(tmp_path / "alice", s3_server, "alice", require_review=False)
    key = f"{PREFIX}/review/train/{stem}.json"
    s3_client.put_object(Bucket=BUCKET, Key=key, Body=b"written by another tool")
    conn = store.connect(alice)
    decisions.approve(conn, alice, stem, "rita")
    report = SyncReport()
    assert transport.push_records(s3_client, conn, parse_s3_uri(URI), report, ("approved",)) == {stem}
    assert report.conflicts == 1 and "cannot read" in report.errors[0]
    assert s3_client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"written by another tool"
    assert store.get_record(conn, stem).state == "approved"
