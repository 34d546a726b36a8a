"""Pool jobs never leave Qt objects to die on a pool thread, and a deleted receiver is skipped, not
crashed into (the segfault once seen under load in the import test)."""

from __future__ import annotations

import gc
import threading
import time

import numpy as np
from PySide6.QtCore import QObject, QThreadPool
from PySide6.QtWidgets import QApplication

from roadseg_gui.ui import tile_model
from roadseg_gui.ui.workers import Succeeded, submit

deleted_on: list[int] = []


class Probe(QObject):
    def __del__(self):
        deleted_on.append(threading.get_ident())


def test_arguments_of_a_finished_job_are_released_on_the_ui_thread(qtbot):
    deleted_on.clear()
    outcomes = []
    for _ in range(20):
        submit(lambda probe: 1, Probe(), on_done=outcomes.append)
    qtbot.waitUntil(lambda: len(outcomes) == 20, timeout=10000)
    QThreadPool.globalInstance().waitForDone()
    time.sleep(0.05)
    QApplication.processEvents()
    gc.collect()
    assert outcomes == [Succeeded(1)] * 20
    assert len(deleted_on) == 20 and set(deleted_on) == {threading.main_thread().ident}


def test_a_receiver_deleted_while_its_job_runs_gets_nothing(qtbot):
    release = threading.Event()
    delivered = []
    receivers = [QObject() for _ in range(10)]
    for receiver in receivers:
        submit(release.wait, 5, context=receiver, on_done=delivered.append)
    for receiver in receivers:
        receiver.deleteLater()
    QApplication.processEvents()
    del receivers, receiver
    gc.collect()
    release.set()
    QThreadPool.globalInstance().waitForDone()
    qtbot.wait(100)
    assert delivered == []


def test_a_thumbnail_does_not_share_memory_with_its_numpy_buffer(qapp, monkeypatch):
    from roadseg_gui.ui import layers

    buffers = []
    original = layers.rgb_to_qimage

    def keep(rgb):
        image = original(rgb)
        buffers.append(image._buffer)
        return image
    monkeypatch.setattr(layers, "rgb_to_qimage", keep)
    size = tile_model.THUMB_SIZE   # scaled() to the same size returns the same data
    image = tile_model._to_qimage(np.full((size, size, 3), 50, np.uint8))
    before = image.pixel(3, 3)
    buffers[0][...] = 255          # what freed memory reused by something else looks like
    assert image.pixel(3, 3) == before


def test_faulthandler_is_on_in_the_suite():
    """A Qt crash must print every thread's stack (pytest turns faulthandler on; nothing may turn it off)."""
    import faulthandler

    assert faulthandler.is_enabled()
