# mlops-operator: `make` (or `make help`) lists the targets. Every target uses the project's own venv.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml constraints.txt
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q -c constraints.txt -e ".[scoring,dev]"
	@touch $@

.PHONY: venv
venv: $(STAMP) ## create .venv and install the project with its dev and scoring extras (pinned by constraints.txt)

.PHONY: controlplane
controlplane: ## build (or reuse the cached) etcd, kube-apiserver, controller-manager, scheduler, kubectl, kubelet, kube-proxy, kwok, helm
	hack/controlplane/build.sh

.PHONY: dataplane
dataplane: ## build (or reuse the cached) runc, containerd, CNI plugins, registry, crane, BuildKit, pause (the real node)
	hack/dataplane/build.sh

.PHONY: gateway
gateway: ## build (or reuse the cached) Traefik, the local Gateway API implementation
	hack/gateway/build.sh

.PHONY: prometheus
prometheus: ## build (or reuse the cached) prometheus and promtool from the Go module (the metrics tests)
	hack/prometheus/build.sh

.PHONY: argocd
argocd: ## build (or reuse the cached) mlops-health: Argo CD's own Lua health code, for the GitOps tests
	hack/argocd/build.sh

.PHONY: flux
flux: ## build (or reuse the cached) Flux's source-controller and kustomize-controller (the GitOps tests)
	hack/flux/build.sh

.PHONY: keda
keda: $(STAMP) ## KEDA (from its Go module) and the real HPA controller scaling pods: on kwok, and real pods on real requests and a DCGM stand-in (root)
	hack/controlplane/build.sh >/dev/null
	hack/dataplane/build.sh >/dev/null
	hack/gateway/build.sh >/dev/null
	hack/prometheus/build.sh >/dev/null
	hack/keda/build.sh >/dev/null
	MLOPS_KEDA=1 $(BIN)/pytest -q -s tests/integration/keda tests/integration/realnode/test_autoscaling_follows_model_metrics.py

.PHONY: flagger
flagger: $(STAMP) ## Flagger's canary and our rollout, same scenarios in one run on the real node (root; prints JSON)
	hack/controlplane/build.sh >/dev/null
	hack/dataplane/build.sh >/dev/null
	hack/gateway/build.sh >/dev/null
	hack/prometheus/build.sh >/dev/null
	hack/flagger/build.sh >/dev/null
	PYTHONPATH=operator $(BIN)/python bench/flagger_canary.py

.PHONY: lint
lint: $(STAMP) ## ruff, formatting, mypy --strict and the import-linter layer contracts
	$(BIN)/ruff check operator tests bench hack
	$(BIN)/ruff format --check operator tests bench hack
	$(BIN)/mypy
	$(BIN)/lint-imports

.PHONY: fmt
fmt: $(STAMP) ## format and autofix
	$(BIN)/ruff format operator tests bench hack
	$(BIN)/ruff check --fix operator tests bench hack

.PHONY: crds
crds: $(STAMP) ## regenerate crds/ (and the chart's and deploy/'s copies) from the pydantic models
	$(BIN)/mlopsctl crds

.PHONY: manifests
manifests: crds ## regenerate the CRDs and deploy/operator.yaml (kustomize) from the Helm chart
	hack/render-deploy.sh

.PHONY: constraints
constraints: $(STAMP) ## re-pin every dependency in constraints.txt from the current .venv
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

.PHONY: unit
unit: $(STAMP) ## unit tests only (pure, fast)
	$(BIN)/pytest tests/unit -q

.PHONY: test
test: $(STAMP) ## THE test command: set up everything on a fresh clone, lint, and run the whole suite
	hack/controlplane/build.sh >/dev/null
	hack/dataplane/build.sh >/dev/null
	hack/gateway/build.sh >/dev/null
	hack/prometheus/build.sh >/dev/null
	hack/argocd/build.sh >/dev/null
	hack/flux/build.sh >/dev/null
	hack/test-tools.sh
	hack/aml-venv.sh >/dev/null
	$(MAKE) --no-print-directory lint
	$(BIN)/mlopsctl crds --check
	$(BIN)/pytest -q

.PHONY: metrics
metrics: $(STAMP) ## promtool on the chart's alerts, and a real Prometheus scraping the operator and a scoring server
	hack/controlplane/build.sh >/dev/null
	hack/prometheus/build.sh >/dev/null
	$(BIN)/pytest -q -m metrics tests/prometheus tests/integration/native_backend

.PHONY: dev
dev: $(STAMP) ## quick start: local control plane + real node + Traefik + operator + examples (Ctrl-C stops everything)
	hack/controlplane/build.sh >/dev/null
	hack/dataplane/build.sh >/dev/null
	hack/gateway/build.sh >/dev/null
	$(BIN)/mlopsctl dev

.PHONY: bench
bench: $(STAMP) ## scoring server benchmark against azureml-inference-server-http (prints ratios)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	hack/aml-venv.sh >/dev/null
	$(BIN)/python bench/scoring.py

.PHONY: bench-scale
bench-scale: $(STAMP) ## the operator at N=1000 (native) and N=100 (azureml, fake ARM) against a plain client's floor
	hack/controlplane/build.sh >/dev/null
	$(BIN)/python bench/operator_scale.py --n 1000 --idle-seconds 180 --resync-seconds 60
	$(BIN)/python bench/scale_azureml.py --n 100

.PHONY: bench-metrics
bench-metrics: $(STAMP) ## hot-path cost of the scoring metrics recorder vs prometheus-client multiprocess (prints the ratio)
	PYTHONPATH=operator $(BIN)/python bench/scoring_metrics.py

.PHONY: clean
clean: ## remove the venvs and caches (not the control-plane build cache)
	rm -rf $(VENV) .venv-aml .mypy_cache .ruff_cache .pytest_cache .mlops-dev
