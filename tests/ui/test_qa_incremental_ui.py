"""The QA overlay checks a stroke incrementally (the graph traced again on a window round it, or the
whole of a small tile) and answers a mask seen before from its cache."""

import numpy as np

from roadseg_gui.core.connectivity_qa import check_mask


def test_a_stroke_rebuilds_only_its_piece_and_an_undo_is_answered_from_the_cache(qtbot, window):
    qa, stem = window.road_qa, window.editor.stem
    window.panel.road_width.setValue(5)
    mask = np.zeros(window.editor.document.shape, bool)
    mask[20:25, 5:60] = True
    mask[60:65, 5:40] = True
    mask[60:65, 46:90] = True                    # a gap of 6 px: one issue
    window.editor.document.replace(mask)
    qtbot.waitUntil(lambda: not qa.busy, timeout=15000)
    first = list(qa.issues)
    assert first == check_mask(mask, None, qa.settings()).issues and qa.checkers[stem].rebuilt >= 1
    stored = window.editor.workspace.db.execute("SELECT COUNT(*) FROM qa_results WHERE stem=?", (stem,))
    assert stored.fetchone()[0] >= 1             # kept with the tile's state for a relaunch

    grown = mask.copy()
    grown[20:25, 60:70] = True                   # the first road grows; the other two pieces are kept
    window.editor.document.replace(grown)
    qtbot.waitUntil(lambda: not qa.busy, timeout=15000)
    assert qa.checkers[stem].rebuilt == 1
    assert qa.issues == check_mask(grown, None, qa.settings()).issues

    window.editor.document.replace(mask)         # back to the first mask: its result, nothing rebuilt
    qtbot.waitUntil(lambda: not qa.busy, timeout=15000)
    assert qa.checkers[stem].rebuilt == 0 and qa.issues == first



def test_after_a_workspace_switch_a_tile_of_the_same_name_keeps_its_qa_in_the_new_workspace(
        qtbot, window, tmp_path):
    from roadseg_gui.core.qa_incremental import result_key
    from roadseg_gui.core.qa_store import load_qa_result
    from roadseg_gui.core.workspace import Workspace
    from ui_helpers import write_tiles

    qa, stem, first = window.road_qa, window.editor.stem, window.workspace
    mask = np.zeros(window.editor.document.shape, bool)
    mask[20:25, 5:60] = True
    window.editor.document.replace(mask)
    qtbot.waitUntil(lambda: not qa.busy, timeout=15000)
    key_in_first = result_key(mask, None, qa.settings())
    assert load_qa_result(first.db, stem, key_in_first) is not None

    write_tiles(tmp_path / "other", 4, seed=5)      # the same tile names, other images
    window.set_workspace(Workspace.open(tmp_path / "other"))    # its first tile has the same name: it opens too
    qtbot.waitUntil(lambda: window.editor.document is not None and window.editor.stem == stem, timeout=15000)
    other = window.workspace
    mask = np.zeros(window.editor.document.shape, bool)
    mask[60:65, 5:40] = True
    mask[60:65, 46:90] = True
    window.editor.document.replace(mask)
    qtbot.waitUntil(lambda: not qa.busy, timeout=15000)
    assert qa.issues == check_mask(mask, None, qa.settings()).issues
    key_in_other = result_key(mask, None, qa.settings())
    assert load_qa_result(other.db, stem, key_in_other) is not None
    assert load_qa_result(first.db, stem, key_in_other) is None     # not written to the old workspace's DB
    assert load_qa_result(first.db, stem, key_in_first) is not None
