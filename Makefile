# card-insights: every target that needs the environment creates it first, so `make run` and
# `make test` work as the very first command on a machine with Python 3.11, git and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
LAB_VENV := .venv-lab
PY := $(VENV)/bin/python
# JupyterLab refuses to run as root unless told to (containers, CI machines often are root).
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_ARGS ?=
SNAPSHOT ?= default
SCALE ?= 1
# Where validate and marts run their SQL: duckdb or spark (Apache Spark: pipelines/spark/config/
# spark.toml; needs `make java`). Unset: DuckDB, and marts kept whichever engine made them.
ENGINE ?=
ENGINE_OPT = $(if $(ENGINE),--engine $(ENGINE))
BENCH_SCALES ?= 1 20
BENCH_GATE_SCALE ?= 55
BENCH_SEGMENTS_SCALE ?= 41
BENCH_CARBON_SCALE ?= 22
BENCH_MERCHANTS_SCALE ?= 168
BENCH_REPORTS_SCALE ?= 1
BENCH_PRIVACY_SCALE ?= 1
BENCH_POPULATION_SCALE ?= 0
BENCH_CAMPAIGNS_SCALE ?= 168
BENCH_MONTHLY_SCALE ?= 20
BENCH_SPARK_SCALE ?= 0
BENCH_OPERATOR_SCALE ?= 0
# uv must use this machine's Python and never download one.
export UV_PYTHON_DOWNLOADS := never

.DEFAULT_GOAL := help
.PHONY: help setup browser java data validate marts run test lab bench lint format dictionary expectations env-file clean

help: ## Show this list of targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

setup: $(VENV)/.synced ## Create .venv from the lock file (runner and test set)

data: setup ## Generate the default SYNTHETIC snapshot unless it exists (SCALE=1, SNAPSHOT=default)
	$(PY) -m pipelines generate --snapshot $(SNAPSHOT) --scale $(SCALE) --if-absent

# Only the default snapshot is generated on demand: another ID must exist already (imported, or
# made with `make data SNAPSHOT=ID`), so that an ID not yet imported never becomes SYNTHETIC data.
SOURCE = $(if $(filter default,$(SNAPSHOT)),data,setup)

validate: $(SOURCE) ## Data-quality gate on the snapshot, compared with the previous one if any; verdict and page in data/validation/ (ENGINE=spark: on Spark)
	$(PY) -m pipelines validate --snapshot $(SNAPSHOT) --previous auto $(ENGINE_OPT)

marts: validate ## Build the marts of the snapshot (data/marts/; ENGINE=spark: on Apache Spark, the same figures)
	$(PY) -m pipelines marts --snapshot $(SNAPSHOT) $(ENGINE_OPT)

run: validate ## Main job: default snapshot, gate, marts and the monthly reports; prints index.html's path
	$(PY) -m pipelines summary --snapshot $(SNAPSHOT)
	$(PY) -m pipelines run --snapshot $(SNAPSHOT)

# Two pytest-xdist workers, each with its own test snapshot; a test file (a notebook's cells
# included) stays on one worker.
test: setup browser java ## Run the tests (pytest, and nbval over notebooks/) on a generated test snapshot, two at a time
	$(PY) -m pytest -n 2 --dist loadfile

browser: ## Install Debian's chromium and CJK fonts for the browser test, if missing (apt-get, as root or via sudo)
	@{ command -v chromium >/dev/null && fc-list :lang=zh-tw | grep -q .; } || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
		echo "installing Debian's chromium and fonts-noto-cjk for the browser test ..."; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

# Spark 4 runs on Java 17 or later; `java -version` prints e.g. 'openjdk version "17.0.15"'.
java: ## Install Debian's Java 17 for the Spark engine (marts --engine spark) and its tests, if missing
	@{ java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; } || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
		echo "installing Debian's openjdk-17-jre-headless for the Spark engine ..."; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

lab: $(UV) ## Install JupyterLab into .venv-lab and open the notebooks (options: LAB_ARGS="--no-browser --port 8890")
	UV_PROJECT_ENVIRONMENT=$(LAB_VENV) $(UV) sync --frozen --compile-bytecode --group lab --python $(PYTHON)
	$(LAB_VENV)/bin/jupyter lab notebooks/ $(LAB_ROOT) $(LAB_ARGS)

bench: setup ## Benchmarks (BENCH_SCALES="1 20" BENCH_GATE_SCALE=55 BENCH_SEGMENTS_SCALE=41 BENCH_CARBON_SCALE=22 BENCH_MERCHANTS_SCALE=168 BENCH_REPORTS_SCALE=1 BENCH_PRIVACY_SCALE=1 BENCH_POPULATION_SCALE=0, e.g. 100; BENCH_CAMPAIGNS_SCALE=168 BENCH_MONTHLY_SCALE=20 BENCH_SPARK_SCALE=0, e.g. 20; BENCH_OPERATOR_SCALE=0, e.g. 600 (hours); 0 skips) -> benchmarks/RESULTS.md
	$(PY) -m pipelines bench $(foreach s,$(BENCH_SCALES),--scale $(s)) --gate-scale $(BENCH_GATE_SCALE) \
		--segments-scale $(BENCH_SEGMENTS_SCALE) --carbon-scale $(BENCH_CARBON_SCALE) \
		--merchants-scale $(BENCH_MERCHANTS_SCALE) --reports-scale $(BENCH_REPORTS_SCALE) \
		--privacy-scale $(BENCH_PRIVACY_SCALE) --population-scale $(BENCH_POPULATION_SCALE) \
		--campaigns-scale $(BENCH_CAMPAIGNS_SCALE) --monthly-scale $(BENCH_MONTHLY_SCALE) \
		--spark-scale $(BENCH_SPARK_SCALE) --operator-scale $(BENCH_OPERATOR_SCALE)

lint: setup ## ruff check and format check; layer rules (import-linter); both data dictionaries up to date
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m pipelines dictionary --check

format: setup ## Apply ruff fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

dictionary: setup ## Regenerate docs/data_dictionary.md (schema) and docs/marts_dictionary.md (families' marts.toml)
	$(PY) -m pipelines dictionary

expectations: setup ## Regenerate the GX suites in expectations/ from the schema
	$(PY) -m pipelines expectations

env-file: $(UV) ## Regenerate environment.yml from uv.lock (conda/mamba users)
	$(PY) -m pipelines.envfile "$$($(UV) export --frozen --all-groups --no-hashes --no-emit-project --no-header --no-annotate)" > environment.yml

clean: ## Remove environments, generated data and reports (keeps data/reference)
	rm -rf $(VENV) $(LAB_VENV) $(TOOLS) reports .pytest_cache \
		data/snapshots data/ground_truth data/validation data/marts data/.duckdb_tmp
