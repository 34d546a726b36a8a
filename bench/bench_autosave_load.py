"""How old can a lost edit be when the app is killed (kill -9) during steady editing on a loaded machine?

Each round runs the real app in a child process (tests/ui/editing_child.py: one brush dab every 0.2 s, each
at its own place), kills it with SIGKILL at a random moment 1-5.8 s into the editing, and reads the
autosaved mask back: a dab not fully on disk is lost, and its age is the time from the dab to the kill.
The loss bound is the age of the oldest lost dab over all rounds; the README promises about 2 s.

Load: ``--burners N`` adds N busy processes for the whole run (the load average is printed; on a
2-core machine 4 burners give a load of about 5). Without burners the machine's own load is what is
measured, so compare rows of one run, not runs on different days.

    python bench/bench_autosave_load.py [--rounds 8] [--burners 4] [--tile-px 1024] [--seed 0] [--quick]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "ui"))

import numpy as np  # noqa: E402

from roadseg_gui.core.workspace import Workspace  # noqa: E402
from ui_helpers import write_tiles  # noqa: E402  (tests/ui/ui_helpers.py: synthetic tiles)

CHILD = ROOT / "tests" / "ui" / "editing_child.py"
PROMISE_S = 2.0
DAB_R = 3          # the child paints 6-px dabs; a dab is saved when this disk of it is on disk


def start_burners(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def one_round(root: Path, home: Path, kill_after_s: float):
    """Edit, kill at ``kill_after_s`` after the first dab; (stem, [(x, y, t)], kill time, load)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(home / "config"),
               XDG_DATA_HOME=str(home / "data"), XDG_STATE_HOME=str(home / "state"),
               PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, str(CHILD), str(root)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    stem, edits = None, []
    try:
        while True:
            line = child.stdout.readline().split()
            if not line:
                break
            if line[0] == "stem":
                stem = line[1]
            elif line[0] == "edit":
                edits.append((float(line[2]), float(line[3]), float(line[4])))
                if edits[-1][2] - edits[0][2] >= kill_after_s:
                    break
        killed_at = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    return stem, edits, killed_at, os.getloadavg()[0]


def lost_ages(root: Path, stem: str, edits, killed_at: float) -> tuple[list[float], int, bool]:
    saved = Workspace.open(root).working_mask(stem)
    yy, xx = np.mgrid[0:saved.shape[0], 0:saved.shape[1]] if saved is not None else np.mgrid[0:1, 0:1]
    ages, kept = [], []
    for x, y, t in edits:
        dab = (xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2 <= DAB_R ** 2
        (ages if saved is None or not saved[dab].all() else kept).append(killed_at - t)
    newest_only = not ages or not kept or max(ages) < min(kept)   # nothing saved after a lost dab
    return ages, len(edits), newest_only


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--burners", type=int, default=0, help="busy processes added for the run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tile-px", type=int, default=1024, help="tile size (a SpaceNet chip is 1300 px)")
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    rng = random.Random(args.seed)
    burners = start_burners(args.burners)
    rows, worst = [], 0.0
    try:
        time.sleep(2 if burners else 0)
        print(f"{'round':>5} {'kill at s':>9} {'load':>5} {'dabs':>5} {'lost':>5} {'oldest lost s':>13}")
        for number in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                root, home = Path(tmp) / "ws", Path(tmp) / "home"
                write_tiles(root, 1, size=args.tile_px)
                kill_after = rng.uniform(1.0, 5.8)
                stem, edits, killed_at, load = one_round(root, home, kill_after)
                if not edits:
                    print(f"{number:>5} the app never started editing")
                    continue
                ages, total, newest_only = lost_ages(root, stem, edits, killed_at)
                oldest = max(ages, default=0.0)
                worst = max(worst, oldest)
                rows.append((oldest, len(ages), total, newest_only))
                print(f"{number:>5} {kill_after:>9.2f} {load:>5.1f} {total:>5} {len(ages):>5} {oldest:>13.2f}")
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    if not rows:
        return 1
    lost = sum(r[1] for r in rows)
    print(f"loss bound (oldest lost dab over {len(rows)} rounds): {worst:.2f} s; promise {PROMISE_S:.1f} s "
          f"({worst / PROMISE_S:.2f}x); {lost} dabs lost of {sum(r[2] for r in rows)}; "
          f"only the newest dabs lost in every round: {'yes' if all(r[3] for r in rows) else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
