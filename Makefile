# Two entry points: `make run` (set up the app + launch it on the demo workspace)
# and `make test` (also the test and benchmark packages + run the whole suite). Both create .venv on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# uv when it is there or can be bootstrapped into .venv, else pip; the same package index either way.
INSTALL := bash scripts/venv-install.sh $(VENV)

.PHONY: constraints run test setup setup-app sysdeps-display sysdeps-offscreen screenshot starter-model bench clean

# What the app needs, and nothing for tests (`make run`).
$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11+ is needed ($(PYTHON) not found); set PYTHON=python3.12 if that is what you have."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, pinned to the versions the local wheel cache (and AWS images) hold.
	$(INSTALL) "torch==2.14.1" "torchvision==0.29.1"
	$(INSTALL) -c constraints.txt -e .
	touch $(STAMP)

# pytest and its plugins, moto, awscli, ... (pyproject's [test] extra) for `make test` and `make bench`.
$(TEST_STAMP): $(STAMP)
	$(INSTALL) -c constraints.txt -e ".[test]"
	touch $(TEST_STAMP)

setup-app: $(STAMP)
setup: $(TEST_STAMP)

# Qt needs a few system libraries that a bare Debian/Ubuntu box lacks; installed only when missing.
sysdeps-display:
	@bash scripts/install-sysdeps.sh display
sysdeps-offscreen:
	@bash scripts/install-sysdeps.sh offscreen

run: sysdeps-display setup-app
	$(VENV)/bin/roadseg-gui

# pytest exits 5 when it collected nothing: that is a failure, not a pass. worksteal hands each worker a
# contiguous half (a module's tests, and its module-scoped model or worker process, stay on one worker) and
# lets an idle worker take over the tail of the other's queue, so no slow file is left last on one core.
test: sysdeps-offscreen setup
	@QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -n auto --dist worksteal; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

screenshot: sysdeps-offscreen setup-app
	$(PY) -m roadseg_gui.screenshot resources/screenshot.png
	$(PY) -m roadseg_gui.screenshot resources/qa_screenshot.png --qa
	$(PY) -m roadseg_gui.screenshot resources/review_screenshot.png --review
	$(PY) -m roadseg_gui.screenshot resources/review_notes_screenshot.png --review-notes

# The demo's starter model (resources/models/starter): a few minutes on a 2-core CPU, nothing downloaded.
starter-model: setup-app
	$(PY) scripts/build_starter_model.py

bench: setup
	$(PY) bench/run_all.py

constraints: setup
	$(PY) -m pip freeze --exclude-editable | grep -v "^roadseg" | sed "1i # Versions this project is tested with; regenerate with make constraints." > constraints.txt

clean:
	rm -rf $(VENV) build *.egg-info
