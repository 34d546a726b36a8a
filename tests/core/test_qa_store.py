"""QA results are kept with the tile's state: a relaunch shows them without checking again."""

import numpy as np

from roadseg_gui.core import statedb
from roadseg_gui.core.connectivity_qa import QASettings, check_mask
from roadseg_gui.core.qa_incremental import IncrementalQA
from roadseg_gui.core.qa_store import TileQAStore, save_qa_result

SETTINGS = QASettings(road_width=7)


def tile_mask() -> np.ndarray:
    mask = np.zeros((120, 160), bool)
    mask[30:37, 10:150] = True
    mask[80:87, 10:70] = True             # a gap of 6 px: one issue, and dangling ends
    mask[80:87, 76:150] = True
    return mask


def counted(checker: IncrementalQA) -> list:
    calls, compute = [], checker._compute
    checker._compute = lambda *args: calls.append(1) or compute(*args)
    return calls


def test_a_relaunch_shows_the_stored_result_and_a_changed_mask_is_checked_again(tmp_path):
    mask = tile_mask()
    first_db = statedb.connect(tmp_path)
    first_run = IncrementalQA(store=TileQAStore(lambda: first_db, "tile_a"))
    first_calls = counted(first_run)
    result = first_run.check(mask, None, SETTINGS)
    assert first_calls == [1] and result == check_mask(mask, None, SETTINGS) and result.issues
    first_db.close()

    db = statedb.connect(tmp_path)        # a relaunch: a new connection, a new checker
    relaunched = IncrementalQA(store=TileQAStore(lambda: db, "tile_a"))
    calls = counted(relaunched)
    assert relaunched.check(mask, None, SETTINGS) == result and calls == []      # not checked again

    other_tile = IncrementalQA(store=TileQAStore(lambda: db, "tile_b"))
    other_calls = counted(other_tile)
    other_tile.check(mask, None, SETTINGS)
    assert other_calls == [1]             # results belong to their tile

    mask[80:87, 70:76] = True             # the gap closed: the new mask is checked, and stored
    changed = relaunched.check(mask, None, SETTINGS)
    assert calls == [1] and changed == check_mask(mask, None, SETTINGS) and changed != result
    again = IncrementalQA(store=TileQAStore(lambda: db, "tile_a"))
    again_calls = counted(again)
    assert again.check(mask, None, SETTINGS) == changed and again_calls == []
    assert again.check(mask, None, QASettings(road_width=9)) == check_mask(mask, None, QASettings(road_width=9))
    assert again_calls == [1]             # other settings: checked again
    back = IncrementalQA(store=TileQAStore(lambda: db, "tile_a"))
    back_calls = counted(back)
    assert back.check(mask, None, SETTINGS) == changed and back_calls == []   # a tile's recent results are all kept


def test_a_tile_keeps_only_its_latest_results(tmp_path):
    from roadseg_gui.core.qa_store import RESULTS_PER_TILE

    db, mask = statedb.connect(tmp_path), tile_mask()
    checker = IncrementalQA(store=TileQAStore(lambda: db, "tile_a"))
    for width in range(3, 4 + RESULTS_PER_TILE):
        checker.check(mask, None, QASettings(road_width=width))
    assert db.execute("SELECT COUNT(*) FROM qa_results WHERE stem='tile_a'").fetchone()[0] == RESULTS_PER_TILE


def test_a_damaged_stored_result_is_checked_again(tmp_path):
    mask, conn = tile_mask(), statedb.connect(tmp_path)
    checker = IncrementalQA(store=TileQAStore(lambda: conn, "tile_a"))
    result = checker.check(mask, None, SETTINGS)
    key = conn.execute("SELECT key FROM qa_results WHERE stem='tile_a'").fetchone()[0]   # its one result
    conn.execute("UPDATE qa_results SET result='{\"issues\": [{\"kind\": 1}]}'")
    relaunched = IncrementalQA(store=TileQAStore(lambda: conn, "tile_a"))
    calls = counted(relaunched)
    assert relaunched.check(mask, None, SETTINGS) == result and calls == [1]
    save_qa_result(conn, "tile_a", key, result)    # and the row is good again after a save
