# Every target carries a "## description"; `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PY := .venv/bin/python
# uv installs everything; `make setup` installs uv itself when the machine has none.
# It trusts the system's certificate store (a corporate proxy's root included) and
# never downloads a Python of its own: 3.11 must be on the machine.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
# Command-line knobs: make pipeline DRIFT=concept_drift PARAMS=my-params.yaml LEVEL=2
# (DRIFT: the simulated traffic's scenario; SCENARIO: a scenario for the next ingested batch;
#  LEVEL: the maturity level to run at, 0-3, docs/workshop/; SET: any params.yaml keys for
#  this run only, e.g. SET="monitoring.trigger.cooldown_minutes=0 governance.approval_mode=manual")
SCENARIO ?=
DRIFT ?=
PARAMS ?=
LEVEL ?=
SET ?=
PIPELINE_ARGS := $(if $(PARAMS),--params $(PARAMS)) $(if $(SCENARIO),--set data.scenario=$(SCENARIO)) \
	$(if $(DRIFT),--set monitoring.simulation.scenario=$(DRIFT)) $(if $(LEVEL),--set level=$(LEVEL)) \
	$(foreach item,$(SET),--set $(item))
# Where the UIs listen (loopback only).
MLFLOW_PORT ?= 5000
PREFECT_PORT ?= 4200
DOCS_PORT ?= 8008
WITH_ENV = eval "$$($(PY) -m core.environment $(if $(PARAMS),--params $(PARAMS)))" &&
# A UI started on a port another program holds would show that program's page: say so and stop.
# $(call PORT_FREE,port,variable)
PORT_FREE = if (exec 3<>/dev/tcp/127.0.0.1/$(1)) 2>/dev/null; then \
	echo "port $(1) is taken: another program answers on http://127.0.0.1:$(1); choose a free one: make $@ $(2)=<port>" >&2; \
	exit 1; fi;

.PHONY: contract skew bench-scale help setup pipeline train monitor drift-demo monitor-ui assess reproduce serve canary canary-demo bento bench-serving test test-slow test-slow-integration lint format env clean mlflow-ui prefect-ui data-docs feast-ls bench-features setup-integration test-integration team-stack k8s k8s-render deploy-k8s approve reject audit model-card bench-governance docs-assets check-uis

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## install uv if missing, then the locked environment (.venv) with compiled bytecode, and the Data Docs assets (npm)
	@python3 -m uv --version >/dev/null 2>&1 || command -v uv >/dev/null 2>&1 || \
		python3 -m pip install --quiet --disable-pip-version-check 'uv>=0.9' || \
		python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages 'uv>=0.9'
	UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=1 UV_NATIVE_TLS=1 $(UV) sync --frozen --compile-bytecode --python 3.11
	@$(MAKE) -s docs-assets
	@$(PY) -m pipelines.warmup  # Prefect's database migrated once, copied into each new state folder
	@echo "environment ready: next, make pipeline"

DATA ?=
OUT ?=
FORCE ?=
contract: ## draft a data contract and params file from your file: DATA=path/to/file.csv [OUT=projects/<name>/params.yaml]
	@test -n "$(DATA)" || { echo "usage: make contract DATA=path/to/file.csv [OUT=path/params.yaml] [FORCE=1]"; exit 2; }
	$(PY) -m features.contract_draft "$(DATA)" $(if $(OUT),--out "$(OUT)") $(if $(FORCE),--force)

# Great Expectations Data Docs load jQuery, Bootstrap, Font Awesome... from CDNs: the same
# versions from the npm registry make them work offline (features/data_docs.py).
DOCS_ASSETS := features/docs_assets
docs-assets: ## install the Data Docs pages' scripts, styles and icons locally (npm), so the pages work offline
	@if cmp -s $(DOCS_ASSETS)/package-lock.json $(DOCS_ASSETS)/node_modules/.installed-from-lock; then :; \
	elif command -v npm >/dev/null; then npm ci --prefix $(DOCS_ASSETS) --no-audit --no-fund --loglevel=error && \
		cp $(DOCS_ASSETS)/package-lock.json $(DOCS_ASSETS)/node_modules/.installed-from-lock; \
	else echo "note: no npm here, so Data Docs load their scripts from CDNs (offline their index stays empty);"; \
		echo "      install Node.js and npm, then make docs-assets"; fi

pipeline: ## the whole Level-3 loop: train, serve, traffic, drift, retrain, canary, promote (DRIFT=, PARAMS=; LEVEL=0..2: that level's pipeline)
	$(PY) -m pipelines $(PIPELINE_ARGS) loop

train: ## the training pipeline alone: ingest, validate, features, version, tune, gate, register (SCENARIO=, LEVEL=)
	$(PY) -m pipelines $(PIPELINE_ARGS) run

monitor: ## judge new windows of the prediction log; retrain if the trigger policy fires
	$(PY) -m pipelines $(PIPELINE_ARGS) monitor

drift-demo: ## against `make serve`: normal then drifted traffic, the monitor after each week, canary on retrain
	$(WITH_ENV) $(PY) -m pipelines $(PIPELINE_ARGS) drift-demo --url http://127.0.0.1:$(SERVE_PORT)

MONITOR_PORT ?= 8001
monitor-ui: ## open the Evidently UI on http://127.0.0.1:8001 (MONITOR_PORT=): every window's reports
	@$(call PORT_FREE,$(MONITOR_PORT),MONITOR_PORT)
	$(WITH_ENV) .venv/bin/evidently ui --workspace "$$MLOPS_STATE_DIR/monitoring/workspace" \
		--host 127.0.0.1 --port $(MONITOR_PORT)

REPO ?=
skew: ## hold every served history feature in the prediction log against the point-in-time join over the landed data
	$(PY) -m monitoring.skew $(if $(PARAMS),--params $(PARAMS))

assess: ## score a repository against the maturity model: table, Markdown and chart (REPO=path, default this project)
	$(PY) -m maturity assess $(if $(REPO),--repo $(REPO))

reproduce: ## retrain registered VERSION=n from its recorded data and settings; compare metrics
	@test -n "$(VERSION)" || { echo "usage: make reproduce VERSION=<registry version>"; exit 2; }
	$(PY) -m pipelines $(if $(PARAMS),--params $(PARAMS)) reproduce --version $(VERSION)

approve: ## approve VERSION=n (APPROVER=, REASON=); completes a promotion that waited for it
	@test -n "$(VERSION)" -a -n "$(APPROVER)" -a -n "$(REASON)" || { echo "usage: make approve VERSION=<n> APPROVER=<who> REASON=<why>"; exit 2; }
	$(PY) -m pipelines $(if $(PARAMS),--params $(PARAMS)) approve --version "$(VERSION)" --approver "$(APPROVER)" --reason "$(REASON)"

reject: ## reject VERSION=n (APPROVER=, REASON=); a challenger is retired
	@test -n "$(VERSION)" -a -n "$(APPROVER)" -a -n "$(REASON)" || { echo "usage: make reject VERSION=<n> APPROVER=<who> REASON=<why>"; exit 2; }
	$(PY) -m pipelines $(if $(PARAMS),--params $(PARAMS)) reject --version "$(VERSION)" --approver "$(APPROVER)" --reason "$(REASON)"

audit: ## verify the audit trail's hash chain and print its history (fails if broken)
	$(PY) -m governance $(if $(PARAMS),--params $(PARAMS)) audit

model-card: ## (re)write the model card of VERSION=n (Markdown and HTML under .state/governance/)
	@test -n "$(VERSION)" || { echo "usage: make model-card VERSION=<registry version>"; exit 2; }
	$(PY) -m governance $(if $(PARAMS),--params $(PARAMS)) model-card --version "$(VERSION)"

SERVE_PORT ?= 3000
SERVICES ?= http://127.0.0.1:$(SERVE_PORT)
serve: ## serve the champion (and any challenger) on http://127.0.0.1:3000 (SERVE_PORT=)
	$(WITH_ENV) BENTOML_HOME="$$BENTOML_HOME/replica-$(SERVE_PORT)" .venv/bin/bentoml serve serving.service:CreditService --host 127.0.0.1 --port $(SERVE_PORT)

canary: ## take the registry's challenger through the canary steps against `make serve` (promote or roll back; SERVICES="url1 url2": every replica)
	$(WITH_ENV) $(PY) -m pipelines $(PIPELINE_ARGS) canary --url $(SERVICES)

canary-demo: ## live: one challenger promoted, one broken challenger rolled back (starts a service if none runs)
	$(WITH_ENV) $(PY) -m pipelines $(PIPELINE_ARGS) canary-demo --url http://127.0.0.1:$(SERVE_PORT)

bento: ## build a deployable bento of the service (offline), its Python requirements exported from uv.lock
	$(UV) export --frozen --offline --no-dev --no-hashes --no-emit-project --no-header --no-annotate --quiet \
		--output-file serving/requirements.txt
	$(WITH_ENV) .venv/bin/bentoml build

# The tests run in TEST_WORKERS processes (pytest-xdist; each test has its own folders and
# ports). Most of a test's time is waiting on a server or a subprocess, so 2 workers
# finish about 1.6 times sooner on 2 cores. One OpenMP thread per process: scikit-learn's
# threads spin while they wait, and with more of them than cores a small fit can take
# minutes instead of seconds. TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
PYTEST := OMP_NUM_THREADS=1 $(PY) -m pytest -n $(TEST_WORKERS)

test: ## run the test suite (fast tiers; minutes)
	$(PYTEST) -m "not slow and not integration"

test-slow: ## run the slow end-to-end tier (CI runs it too); the longest files start first
	$(PYTEST) --dist loadfile -m "slow and not integration"

# Debian's packages (apt needs root) and the npm Rollout schema checker. Skips what is
# installed, so it is safe to re-run.
INTEGRATION_PACKAGES := $(if $(wildcard /usr/lib/postgresql/*/bin/pg_ctl),,postgresql) \
	$(if $(shell command -v redis-server),,redis-server) $(if $(shell command -v npm),,nodejs npm) \
	$(if $(shell command -v chromium),,chromium)
setup-integration: ## install PostgreSQL, Redis, Chromium (Debian, needs root), the k8s schema checker and Data Docs assets (npm)
	@if [ -z "$(strip $(INTEGRATION_PACKAGES))" ]; then echo "PostgreSQL, Redis, npm and Chromium are installed"; \
	elif [ "$$(id -u)" != 0 ]; then echo "as root, install: $(INTEGRATION_PACKAGES) (sudo make setup-integration)"; exit 1; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		$(INTEGRATION_PACKAGES); fi
	@test -d infra/k8s/check/node_modules/@kubernetes-models || \
		npm ci --prefix infra/k8s/check --no-audit --no-fund --loglevel=error
	@$(MAKE) -s docs-assets

# CD's policy gate: the governance policy, judged for the version the registry serves.
CHAMPION_VERSION = $(PY) -c 'import sys; from core.settings import load_settings; from core.registry import alias_version; \
	v = alias_version(load_settings(sys.argv[1] or None), "champion"); print(v or sys.exit("no champion in the registry"))' "$(PARAMS)"
policy-gate: ## check the registry's champion (or VERSION=n) against the governance policy; CD runs it
	version="$(VERSION)"; [ -n "$$version" ] || version=$$($(CHAMPION_VERSION)); \
	$(PY) -m governance $(if $(PARAMS),--params $(PARAMS)) check --stage champion --version "$$version"

k8s: ## regenerate the cluster canary from serving/canary.yaml, then render every overlay (infra/k8s)
	$(PY) -m infra.rollout
	@for env in dev staging prod; do .venv/bin/kubectl kustomize infra/k8s/overlays/$$env >/dev/null && echo "overlays/$$env renders"; done

# Deploying: the overlay of K8S_ENV with the service image IMAGE_NAME:IMAGE_TAG (CD sets both), and the
# registry version MODEL_VERSION its pods serve (optional; unset, they serve the champion alias at start).
# The pin is the pod template's env MLOPS_MODEL_VERSION (a JSON patch, guarded by a test of the entry's
# name); kustomize replacements copy it into the quality job's challenger-version argument (infra/README.md).
K8S_ENV ?= dev
IMAGE_NAME ?= registry.example.invalid/mlops/credit-service
IMAGE_TAG ?=
MODEL_VERSION ?=
K8S_PIN_SOURCE = spec.template.spec.containers.[name=service].env.[name=MLOPS_MODEL_VERSION].value
K8S_PIN_TARGETS = "spec.strategy.canary.analysis.args.[name=challenger-version].value", \
	"spec.strategy.canary.steps.*.analysis.args.[name=challenger-version].value"
k8s-render: ## print the manifests of K8S_ENV (dev|staging|prod) with the image IMAGE_NAME:IMAGE_TAG, pinned to MODEL_VERSION
	@test -n "$(IMAGE_TAG)" || { echo "usage: make k8s-render K8S_ENV=dev|staging|prod IMAGE_TAG=<tag> [MODEL_VERSION=<n>]" >&2; exit 2; }
	@test -z "$(MODEL_VERSION)" || echo "$(MODEL_VERSION)" | grep -Eqx '[1-9][0-9]*' || \
		{ echo "MODEL_VERSION must be a registry version number, not $(MODEL_VERSION)" >&2; exit 2; }
	@work=$$(mktemp -d) && trap 'rm -rf "$$work"' EXIT && \
	printf 'resources: ["%s"]\nimages: [{name: registry.example.invalid/mlops/credit-service, newName: "%s", newTag: "%s"}]\n' \
		"$$(realpath --relative-to="$$work" infra/k8s/overlays/$(K8S_ENV))" "$(IMAGE_NAME)" "$(IMAGE_TAG)" \
		> "$$work/kustomization.yaml" && \
	if [ -n "$(MODEL_VERSION)" ]; then printf '%s\n' \
		'patches:' '  - target: {kind: Rollout, name: credit-service}' '    patch: |-' \
		'      - {op: test, path: /spec/template/spec/containers/0/env/0/name, value: MLOPS_MODEL_VERSION}' \
		'      - {op: replace, path: /spec/template/spec/containers/0/env/0/value, value: "$(MODEL_VERSION)"}' \
		'replacements:' '  - source: {kind: Rollout, name: credit-service, fieldPath: "$(K8S_PIN_SOURCE)"}' \
		'    targets: [{select: {kind: Rollout, name: credit-service}, fieldPaths: [$(K8S_PIN_TARGETS)]}]' \
		>> "$$work/kustomization.yaml"; fi && \
	.venv/bin/kubectl kustomize "$$work"

deploy-k8s: ## apply K8S_ENV's manifests (IMAGE_TAG=, MODEL_VERSION=) to the current kubectl context; wait for the canary to finish
	$(MAKE) -s k8s-render | .venv/bin/kubectl apply -f -
	.venv/bin/kubectl -n mlops-$(K8S_ENV) wait rollout/credit-service --for=jsonpath='{.status.phase}'=Healthy --timeout=30m

test-integration: ## the team profile against real servers on loopback: PostgreSQL, Redis, S3, MLflow, Prefect (a stack per process)
	$(PYTEST) --dist loadfile -m integration

test-slow-integration: ## the slow and the integration tiers in one run (CI): neither process idles while the other ends a long file
	$(PYTEST) --dist loadfile --durations=12 -m "slow or integration"

team-stack: ## start the team profile's servers on loopback (no Docker) and print the exports; Ctrl-C stops them
	$(PY) -m infra.loopback

lint: ## format check, lint and type check
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy

format: ## apply the formatter and the safe lint fixes
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

env: ## print export lines that point mlflow, prefect, dvc, feast and bentoml at the state folder, .venv/bin on PATH
	@$(PY) -m core.environment $(if $(PARAMS),--params $(PARAMS))

clean: ## remove all local state and generated data (.state/ and data/'s generated folders; tracked files stay)
	rm -rf .state data/raw data/features data/landing data/quarantine data/predictions data/labels .dvc/config.local .dvc/tmp
	@# data/raw.dvc and data/features.dvc are tracked: put back the committed pointers, not delete them.
	@git checkout -q -- data/raw.dvc data/features.dvc 2>/dev/null || true

# One worker is plenty for one person and spares a 2-core laptop (MLflow's default is 4).
MLFLOW_WORKERS ?= 1
mlflow-ui: ## open the MLflow UI on http://127.0.0.1:5000 (MLFLOW_PORT=, MLFLOW_WORKERS=)
	@$(call PORT_FREE,$(MLFLOW_PORT),MLFLOW_PORT)
	$(WITH_ENV) MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false .venv/bin/mlflow ui --workers $(MLFLOW_WORKERS) \
		--backend-store-uri "$$MLFLOW_TRACKING_URI" --host 127.0.0.1 --port $(MLFLOW_PORT)

prefect-ui: ## open the Prefect UI on http://127.0.0.1:4200 (PREFECT_PORT=): the flow runs
	@$(call PORT_FREE,$(PREFECT_PORT),PREFECT_PORT)
	$(WITH_ENV) $(PY) -m infra.prefect_ui && PREFECT_SERVER_UI_API_URL=http://127.0.0.1:$(PREFECT_PORT)/api \
		.venv/bin/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

SHOTS ?=
check-uis: ## after a run: every UI in headless Chromium, network cut but loopback; fails on any outside call (SHOTS=dir)
	$(PY) -m infra.ui_check $(if $(PARAMS),--params $(PARAMS)) $(if $(SHOTS),--shots $(SHOTS))

data-docs: ## serve Great Expectations Data Docs on http://127.0.0.1:8008 (DOCS_PORT=), with their assets local
	@$(call PORT_FREE,$(DOCS_PORT),DOCS_PORT)
	$(PY) -m features.data_docs $(if $(PARAMS),--params $(PARAMS))
	$(WITH_ENV) $(PY) -m http.server --bind 127.0.0.1 --directory "$$MLOPS_STATE_DIR/reports/data_docs" $(DOCS_PORT)

feast-ls: ## list the feature store's entities, feature views and feature services (feast CLI)
	$(WITH_ENV) cd features/feature_repo && ../../.venv/bin/feast entities list && \
		../../.venv/bin/feast feature-views list && ../../.venv/bin/feast feature-services list

bench-features: ## benchmark the feature store: materialization and online latency, against a baseline
	$(PY) -m benchmarks.features

bench-monitoring: ## time one window's drift report against the same tests by hand, after make pipeline
	$(WITH_ENV) $(PY) -m benchmarks.monitoring

.PHONY: bench-monitoring
bench-governance: ## benchmark governance: cost per registration and per explained row, against baselines
	$(WITH_ENV) $(PY) -m benchmarks.governance

bench-serving: ## benchmark the service (champion, canary, shadow) against in-process and minimal-app baselines
	$(PY) -m benchmarks.serving

ROWS ?= 100000,1000000,3000000
SET ?= features.engine=duckdb
bench-scale: ## the training pipeline at 100k, 1M and 3M rows (DuckDB engine): time, peak memory, growth per step (ROWS=, SET=)
	$(PY) -m benchmarks.scale --rows $(ROWS) $(foreach pair,$(SET),--set $(pair))
