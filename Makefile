# The two commands a newcomer needs: `make sim` and `make test`. Both install what is
# missing first (scripts/setup.sh: Debian packages when root, .venv with Python 3.11,
# pinned dependencies, lsv_msgs built from the ROS 2 wheels, src/ packages editable).

VENV        := .venv
PY          := $(VENV)/bin/python
# Multi-process runs go into a private network namespace when possible (root or user
# namespaces): DDS discovery, the simulated CAN bus and V2X UDP then cannot leave the
# machine. `make sim SANDBOX=` runs on the host network instead (localhost discovery).
SANDBOX     ?= scripts/netns_sandbox.sh
# `make sim SCENARIO=hill_start_stop SIM_ARGS=--sync`
SCENARIO    ?= default
SIM_ARGS    ?=
PYTEST_ARGS ?=
SUITE_ARGS  ?=

.PHONY: help setup test test-fast lint sim suite models record-ci-bags bench clean

help:
	@echo "make sim        set up, run the default scenario with the whole stack in the simulator, write sim_report/"
	@echo "make test       set up, run ruff and every test (CI runs this)"
	@echo "make test-fast  set up, run the fast tests only (no @pytest.mark.slow)"
	@echo "make suite      set up, run every scenario x 10 seeds (synchronous) with fault injection, write suite_report/"
	@echo "make models     set up + torch (CPU), regenerate the training data and retrain the ONNX models in models/"
	@echo "make bench      set up, run every benchmark in benchmarks/ (JSON lines)"
	@echo "make setup      only the set-up (idempotent; a second run does nothing)"

setup:
	@scripts/setup.sh

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint
	$(SANDBOX) $(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(SANDBOX) $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

sim: setup
	$(SANDBOX) $(VENV)/bin/lsv sim --scenario $(SCENARIO) --report sim_report $(SIM_ARGS)

suite: setup
	$(SANDBOX) $(VENV)/bin/lsv suite --seeds 10 --report suite_report $(SUITE_ARGS)

# Training needs torch, which the stack itself does not: installed here only (CPU build).
# torch pulls setuptools >= 77, whose `develop` breaks the editable installs of src/ (setup.cfg
# script_dir): the locked setuptools goes back (torch only needs it to build C++ extensions).
models: setup
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet "$$(grep '^setuptools==' requirements.lock)" 2>/dev/null
	$(PY) tools/train_camera_detector.py
	$(PY) tools/train_point_classifier.py

# Re-record the rosbags the replay tests play (tests/data/README.md), then update their
# references on purpose: pytest tests/test_replay.py --update-refs
record-ci-bags: setup
	$(PY) tools/record_ci_bags.py
	$(PY) tools/record_perception_bag.py

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b" >&2; $(PY) $$b | tail -n 1; done

clean:
	rm -rf build log sim_report suite_report .pytest_cache .ruff_cache
