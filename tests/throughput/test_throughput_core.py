"""Throughput core: active seconds with idle gaps cut, road km, storage in the state DB, aggregation."""

from __future__ import annotations

import getpass

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

from roadseg_gui.core import statedb
from roadseg_gui.core.settings import WorkspaceSettings, os_login
from roadseg_gui.core.throughput import report, store
from roadseg_gui.core.throughput.activity import ActivityLog
from roadseg_gui.core.throughput.road_length import (DEFAULT_GSD_M, MEASURED_BY_ASSUMED_GSD, MEASURED_BY_CRS,
                                                     georeference_of, road_length)


def test_active_seconds_sum_the_gaps_and_cut_idle_gaps_over_30_s():
    log = ActivityLog()
    log.switch("a")
    for t in (100.0, 105.0, 110.0, 150.0, 152.5):   # the 40 s pause counts nothing
        log.input(t)
    log.action("brush", 153.0)
    log.switch("b")
    log.action("eraser", 163.0)                     # 10 s looking at b before the stroke: b's
    log.action("eraser", 200.0)                     # 37 s idle: cut
    work = log.take()
    assert work["a"].active_s == pytest.approx(5 + 5 + 2.5 + 0.5)
    assert dict(work["a"].actions) == {"brush": 1}
    assert work["b"].active_s == pytest.approx(10.0)
    assert dict(work["b"].actions) == {"eraser": 2}
    assert log.take() == {} and not log.has_pending()


def test_a_gap_of_exactly_the_cut_counts_and_a_failed_write_is_put_back():
    log = ActivityLog(idle_cut_s=30)
    log.switch("a")
    log.input(0.0)
    log.input(30.0)
    log.input(60.01)
    taken = log.take()
    assert taken["a"].active_s == pytest.approx(30.0)
    log.put_back(taken)
    log.action("road", 61.0)
    again = log.take()
    assert again["a"].active_s == pytest.approx(30.0 + 0.99) and again["a"].actions["road"] == 1


def test_road_length_in_pixels_times_the_stated_gsd_without_a_crs():
    mask = np.zeros((64, 128), bool)
    mask[30:35, 10:110] = True      # one straight road, 100 px long
    length = road_length(mask)
    assert length.measured == MEASURED_BY_ASSUMED_GSD
    assert 90 <= length.px <= 100
    assert length.m == pytest.approx(length.px * DEFAULT_GSD_M)
    assert road_length(np.zeros((8, 8), bool)).m == 0


def test_road_length_in_metres_from_a_geotiffs_crs_and_transform(tmp_path):
    image = tmp_path / "tile.tif"
    with rasterio.open(image, "w", driver="GTiff", width=128, height=64, count=3, dtype="uint8",
                       crs=CRS.from_epsg(32633), transform=from_origin(500000, 4000000, 2.0, 2.0)) as dst:
        dst.write(np.zeros((3, 64, 128), np.uint8))
    mask = np.zeros((64, 128), bool)
    mask[30:35, 10:110] = True
    georef = georeference_of(image)
    assert georef is not None and georeference_of(tmp_path / "plain.png") is None
    length = road_length(mask, georef)
    assert length.measured == MEASURED_BY_CRS
    assert length.m == pytest.approx(2.0 * length.px, rel=0.02)   # 2 m pixels, not the default GSD


def test_records_add_up_in_the_state_db_and_a_reaccept_counts_once(tmp_path):
    conn = statedb.connect(tmp_path)
    log = ActivityLog()
    log.switch("t1")
    log.action("brush", 0.0)
    log.action("brush", 10.0)
    store.add_work(conn, "ann", "2026-01-01", log.take())
    log.action("key", 20.0)
    store.add_work(conn, "ann", "2026-01-01", log.take())
    road = road_length(np.pad(np.ones((4, 50), bool), 10))
    store.record_accept(conn, "t1", "ann", "2026-01-01", road)
    store.record_accept(conn, "t1", "ann", "2026-01-02", None)        # accepted again the next day
    store.set_road(conn, "t1", "ann", "2026-01-02", road)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()

    records = store.load_records(statedb.connect(tmp_path))          # a new connection: it is on disk
    first, second = sorted(records, key=lambda r: r.day)
    assert first.active_s == pytest.approx(20.0) and first.actions == {"brush": 2, "key": 1}
    assert not first.accepted and first.road_m == 0
    assert second.accepted and second.road_m == pytest.approx(road.m)
    summary = report.total(records)
    assert summary.tiles == 1 and summary.actions == 3


def _record(stem, annotator, day, active_s, actions, accepted, road_m):
    return store.Record(stem, annotator, day, active_s, accepted, road_m, MEASURED_BY_CRS, {"brush": actions})


def test_summaries_give_tiles_per_hour_km_per_hour_and_actions_per_km():
    records = [_record("a", "ann", "2026-01-01", 1800, 30, True, 1500),
               _record("b", "ann", "2026-01-02", 1800, 10, True, 500),
               _record("c", "bob", "2026-01-01", 900, 5, False, 0)]
    by_annotator = {s.key: s for s in report.summarize(records, "annotator")}
    ann = by_annotator["ann"]
    assert ann.tiles == 2 and ann.hours == pytest.approx(1.0)
    assert ann.tiles_per_hour == pytest.approx(2.0) and ann.km_per_hour == pytest.approx(2.0)
    assert ann.actions_per_km == pytest.approx(20.0)
    bob = by_annotator["bob"]
    assert bob.tiles == 0 and bob.tiles_per_hour == 0 and bob.actions_per_km is None   # no km: no ratio
    by_day = {s.key: s for s in report.summarize(records, "day")}
    assert by_day["2026-01-01"].tiles == 1 and by_day["2026-01-01"].active_s == 2700
    assert [s.key for s in report.summarize(records, "tile")] == ["a", "b", "c"]
    table = report.format_table(report.summarize(records, "annotator"), report.total(records), "annotator")
    assert "tiles_per_hour" in table.splitlines()[0] and table.splitlines()[-1].startswith("total")
    csv_lines = report.format_csv(report.summarize(records, "day"), "day").splitlines()
    assert csv_lines[0].startswith("day,tiles,hours,km") and len(csv_lines) == 3


def test_the_annotator_defaults_to_the_os_login_and_can_be_set(tmp_path):
    settings = WorkspaceSettings()
    assert settings.annotator_name() == os_login() == getpass.getuser()
    settings.annotator = "  Maria "
    settings.save(tmp_path)
    assert WorkspaceSettings.load(tmp_path).annotator_name() == "Maria"


def test_without_a_login_the_annotator_is_still_named(monkeypatch):
    def no_login():
        raise OSError("no login")
    monkeypatch.setattr(getpass, "getuser", no_login)
    assert WorkspaceSettings().annotator_name() == "annotator"


def test_the_road_of_a_real_spacenet_mask_measures_as_its_label_centre_lines(shared_data):
    import json
    from pathlib import Path

    from trainer.imageio import read_mask
    from trainer.roadgraph.georef import _haversine

    folder = Path(shared_data) / "spacenet-vegas"
    labels = json.loads((folder / "labels/AOI_2_Vegas_img0.geojson").read_text())
    truth_m = 0.0
    for feature in labels["features"]:
        geometry = feature["geometry"]
        for line in [geometry["coordinates"]] if geometry["type"] == "LineString" else geometry["coordinates"]:
            points = np.asarray(line)[:, :2]
            truth_m += float(_haversine(points[:-1], points[1:]).sum())
    length = road_length(read_mask(folder / "masks/AOI_2_Vegas_img0.png"),
                         georeference_of(folder / "images/AOI_2_Vegas_img0.tif"))
    assert length.measured == MEASURED_BY_CRS     # EPSG:4326: great-circle metres, not the assumed GSD
    assert length.m == pytest.approx(truth_m, rel=0.03)   # 4470 m against the labels' 4466 m
