# Training Impact Kit — two commands on a fresh machine: `make report` and `make test`.
# Both create .venv with python3 -m venv and install the locked versions on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= data/sample

.PHONY: report test lab sample notebooks lock bench screenshots clean-venv

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

report: $(STAMP)  ## run every notebook on the sample data and write the HTML reports
	$(PY) -m analysis run --data $(DATA)

# TIK_EVALUATION_CACHE: a fresh folder per run, so notebook 02's 999-draw evaluation of data/sample is computed once
# for the tests and the nbval runs of notebooks 02 and 03 (analysis/attribution/cache.py); the count is printed at the end
test: $(STAMP)  ## every test: unit, property, pipeline, and nbval over the committed notebooks
	cache=$$(mktemp -d) && touch $$cache/log.txt && trap 'echo "evaluation cache: $$(grep -c " computed " $$cache/log.txt) computed ($$(grep -c " computed .*n_boot=999 " $$cache/log.txt) with 999 draws), $$(grep -c " reused " $$cache/log.txt) reused"; rm -rf $$cache' EXIT && \
	TIK_EVALUATION_CACHE=$$cache TIK_IGNORE_EARLIER_RUNS=1 $(PY) -m pytest -n 2 --dist loadfile tests notebooks --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

screenshots: $(STAMP)  ## run the kit on $(DATA) and refresh the PNGs of its pages in reports/screenshots/ (needs chromium)
	$(PY) tests/test_browser.py --data $(DATA) --out reports/screenshots

lab: $(STAMP)  ## JupyterLab on the kit
	$(PY) -m jupyter lab notebooks

sample: $(STAMP)  ## regenerate data/sample (2000 employees x 24 months, seed 7)
	$(PY) -m analysis sample --employees 2000 --months 24 --seed 7 --out data/sample

notebooks: $(STAMP)  ## re-execute the committed notebooks in place on data/sample, in name (= dependency) order, so nbval holds them
	cd notebooks && for nb in *.ipynb; do echo "executing $$nb"; ../$(PY) -c "import sys, papermill as pm; from analysis.pipeline import ThisInterpreterKernelManager as K; pm.execute_notebook(sys.argv[1], sys.argv[1], kernel_name='python3', progress_bar=False, kernel_manager_class=K)" $$nb || exit 1; done

lock: $(STAMP)  ## regenerate the lock files from pyproject.toml
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 -o requirements-bench.lock

bench: $(STAMP)  ## speed and Monte Carlo benchmarks (installs the peer libraries)
	$(PY) -m pip install --quiet -r requirements-bench.lock
	$(PY) benchmarks/attribution.py
	$(PY) benchmarks/montecarlo.py

clean-venv:
	rm -rf $(VENV)
