# The two commands: `make study` (run the study on the quick profile) and `make test` (the test suite).
# Each sets itself up on a fresh machine through `make setup` (idempotent: nothing happens when the
# environment is up to date with pyproject.toml and constraints.txt). `uv pip` installs the same pinned PyPI
# packages as pip would, about twice as fast on a fresh machine (parallel downloads and unpacking); the bytecode is
# compiled at install time, as pip does, because a process that cannot write it (PYTHONDONTWRITEBYTECODE) would
# otherwise compile torch on every import.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-stamp
PROFILE ?= params/profiles/quick.yaml
JOBS   ?= 2

.PHONY: setup study related smoke real paper test verify bench bench-budget bench-lab sweep lab lab-study site site-check clean-data

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq -c constraints.txt uv
	$(PY) -m uv pip install -q --python $(PY) --compile-bytecode -c constraints.txt -e '.[dev]'
	$(PY) -m ipykernel install --prefix $(VENV) --name python3 >/dev/null 2>&1
	@echo "environment ready: $(VENV) (kernel python3)"
	touch $(STAMP)

## The paper's study (Experiments I-VIII, steps 01-06) on the quick profile into reports/quick/ (about 25 min)
study: setup
	$(PY) -m landslide_utils run --profile $(PROFILE)

## The related systems of four papers (notebook 08) on quick's area into reports/related/: quick's steps 01-03
## first (skipped when current; related.yaml reuses their tiles), then step 04 for each related row and step 08
related: setup
	$(PY) -m landslide_utils run --profile params/profiles/quick.yaml --steps 01,02,03
	$(PY) -m landslide_utils run --profile params/profiles/related.yaml

## Run the whole study on the smoke profile into reports/smoke/, then its related rows (smoke_related) (minutes)
smoke: setup
	$(PY) -m landslide_utils run --profile params/profiles/smoke.yaml
	$(PY) -m landslide_utils run --profile params/profiles/smoke_related.yaml

## Run the study on real imagery: the 36 Bijie chips of samples/bijie_sample/ into reports/bijie_sample/
real: setup
	$(PY) -m landslide_utils run --profile params/profiles/bijie_sample.yaml

## The paper profile on the GPUs torchrun sees (CPU: 1 process): data preparation, every experiment trained
## data-parallel, then the notebooks (step 04 reuses the checkpoints). NPROC defaults to the most GPUs that split
## every experiment's batch evenly (python -m landslide_utils processes); NPROC=2 or TORCHRUN="torchrun
## --nnodes ..." to choose; docs/running.md, "Training on a GPU node or a cluster".
NPROC    ?= $(shell $(PY) -m landslide_utils processes --profile params/profiles/paper.yaml 2>/dev/null || echo 1)
TORCHRUN ?= $(PY) -m torch.distributed.run --standalone --nproc_per_node $(NPROC)
paper: setup
	$(PY) -m landslide_utils run --profile params/profiles/paper.yaml --steps 01,02,03
	$(TORCHRUN) -m landslide_utils train --profile params/profiles/paper.yaml --all
	$(PY) -m landslide_utils run --profile params/profiles/paper.yaml

## The test suite (under 15 minutes on 2 cores). Two workers share the cores: OpenMP threads that sleep while
## they wait (instead of spinning) make the two torch jobs together about twice as fast (docs/running.md, "Tests").
test: setup
	OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest -n $(JOBS) --durations=15 -q

## Rerun the committed reports/quick/ notebooks and compare them with nbval (the reviewer's command)
verify: setup
	$(PY) -m pytest -p no:xdist -p no:cacheprovider -o addopts= --nbval-lax \
		--nbval-sanitize-with nbval_sanitize.cfg --nbval-cell-timeout=3600 reports/quick/*.ipynb

## Benchmark: matmul peaks, training GFLOP/s, scene prediction vs a pure forward pass, flat memory (benchmarks/results.json)
bench: setup
	$(PY) benchmarks/bench_limits.py

## Benchmark: projected quick-profile training time as a ratio of its 25-minute budget
bench-budget: setup
	$(PY) benchmarks/bench_quick_budget.py

## Benchmark: the teaching lab (steps 01-06 of the lab profile, from scratch) against its 10-minute and 2 GB targets
bench-lab: setup
	$(PY) benchmarks/bench_lab.py

## The claims sweep: U-Net/PSPNet x factors x BE over 10 seeds, verdicts with intervals (reports/quick/sweeps/claims/)
sweep: setup
	$(PY) -m landslide_utils sweep --sweep params/sweeps/claims.yaml --workers $(JOBS)

## The teaching lab: steps 01-06 of the lab profile (U-Net V / VI, Mask R-CNN IV on a smaller area) into reports/lab/
lab-study: setup
	$(PY) -m landslide_utils run --profile params/profiles/lab.yaml

## Open JupyterLab on the project's kernel (teaching and exploring; notebooks/ holds the study's steps)
lab: setup
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=.

## The study as a static site in build/site/ (Sphinx + MyST-NB): README, the results page, docs/ and every committed
## executed notebook, rendered as committed (nothing re-executed; a light environment without torch, .venv-site)
SITE_VENV  := .venv-site
SITE_STAMP := $(SITE_VENV)/.site-stamp
$(SITE_STAMP): site/requirements.txt constraints.txt
	test -x $(SITE_VENV)/bin/python || $(PYTHON) -m venv $(SITE_VENV)
	$(SITE_VENV)/bin/python -m pip install -qq -c constraints.txt uv
	$(SITE_VENV)/bin/python -m uv pip install -q --python $(SITE_VENV)/bin/python -c constraints.txt -r site/requirements.txt
	touch $(SITE_STAMP)

site: $(SITE_STAMP)
	rm -rf build/site
	$(SITE_VENV)/bin/python -m sphinx -q -c site -b html . build/site
	@echo "site: build/site/index.html"

## Check the site: every local link resolves, and headless Chromium (Debian package chromium) renders the index
site-check: site
	$(SITE_VENV)/bin/python tools/site_check.py build/site

clean-data:
	rm -rf data/
