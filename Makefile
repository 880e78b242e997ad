# belediye-iac: every target is a thin wrapper over a script; run `make help`.
SHELL := /bin/bash
export CONTAINERS_CONF := $(CURDIR)/lab/containers.conf
VENV := .venv
PY := $(VENV)/bin/python
LABCTL := $(PY) lab/labctl.py

.PHONY: help demo test deps venv lint unit image lab-up lab-down lab-status converge audit molecule integration docs clean \
	bench hooks plan apply ledger-verify change-report netbox-up netbox-down netbox-seed netbox-drift netbox-sync

# Runs against the lab keep their own run ledger; production runs use the control node's
# (/var/log/belediye-iac/ledger.jsonl, see plugins/callback/README.md) unless this is set.
LAB_LEDGER := $(CURDIR)/.lab/ledger/ledger.jsonl
LEDGER ?= $(or $(BELEDIYE_LEDGER_PATH),/var/log/belediye-iac/ledger.jsonl)
INVENTORY ?= inventories/production
SINCE ?= $(shell date -u -d '-30 days' +%Y-%m-%d)
UNTIL ?= $(shell date -u +%Y-%m-%d)

help: ## List the targets
	@grep -E '^[a-z-]+: [^=]*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

demo: export BELEDIYE_LEDGER_PATH = $(LAB_LEDGER)
demo: deps venv ## Build the lab and converge it with playbooks/site.yml
	$(LABCTL) up
	scripts/converge.sh
	@echo
	@echo "Demo done. Next:"
	@echo "  make demo            again: every host reports changed=0"
	@echo "  $(LABCTL) status     what runs; logs of the runs in .lab/runs/"
	@echo "  ssh -F .lab/ssh/config app01     a lab host (as the automation account)"
	@echo "  .venv/bin/ansible-playbook playbooks/site.yml --check --diff     a plan against the lab"
	@echo "  make lab-down        remove the lab"

test: ## Run every test stage (lint, unit, image, molecule, lab integration) with timings
	scripts/test.sh

bench: venv ## Benchmarks on the lab `make demo` built: tuned vs stock, 1-20 hosts, device fleets (reports/bench/)
	scripts/bench.sh

deps: ## Install the machine packages the lab needs (root)
	scripts/deps.sh

venv: ## Create the control node's Python 3.12 venv from requirements.txt
	scripts/venv.sh

lint: venv ## yamllint, ruff and ansible-lint (production profile)
	scripts/test.sh lint

unit: venv ## pytest unit tests of the plugins
	scripts/test.sh unit

molecule: deps venv ## Every molecule scenario
	scripts/test.sh image molecule

integration: deps venv ## The lab alone: up, ci/apply.sh, then ci/plan.sh (no change left) and the integration tests, down
	scripts/test.sh lab integration

image: deps venv ## Build or reuse the lab base image
	$(LABCTL) image

lab-up: deps venv ## Start the lab (idempotent; recovers from a killed run)
	$(LABCTL) up

lab-down: ## Remove every lab container, the network, the bridge and the proxy
	$(LABCTL) down

lab-status: ## Show the lab
	$(LABCTL) status

netbox-up: deps venv ## A real NetBox on loopback (lab/netbox/netboxctl.py); `netboxctl.py env` prints URL and token
	$(PY) lab/netbox/netboxctl.py up

netbox-down: ## Stop the lab NetBox (its data is kept; `netboxctl.py destroy` removes it)
	$(PY) lab/netbox/netboxctl.py down

# NETBOX_API and NETBOX_TOKEN from the environment; for the lab NetBox: eval "$$(.venv/bin/python lab/netbox/netboxctl.py env)"
netbox-seed: venv ## Load NetBox from INVENTORY= (idempotent; CHECK=1 only prints the plan)
	$(PY) tools/netbox_seed.py $(INVENTORY) $(if $(CHECK),--check)

netbox-drift: venv ## What NetBox and INVENTORY= disagree on (exit 3 when anything)
	$(PY) tools/netbox_seed.py $(INVENTORY) --drift

netbox-sync: venv ## Write gathered facts back to NetBox, the asset register (INVENTORY=, LIMIT=)
	$(VENV)/bin/ansible-playbook -i $(INVENTORY) playbooks/netbox-sync.yml $(if $(LIMIT),--limit $(LIMIT))

converge: export BELEDIYE_LEDGER_PATH = $(LAB_LEDGER)
converge: venv ## Converge the running lab with playbooks/site.yml
	scripts/converge.sh

audit: export BELEDIYE_LEDGER_PATH = $(LAB_LEDGER)
audit: venv ## ISMS audit of the running lab (changes nothing): bilingual report in reports/isms/
	$(VENV)/bin/ansible-playbook playbooks/isms-audit.yml

docs: venv ## Role README variable tables (from meta/argument_specs.yml) and the ISMS SoA (from controls.yml)
	$(PY) scripts/role_docs.py
	$(PY) scripts/isms_soa.py

hooks: ## Install the git hooks (commit-msg: the Talep: trailer check) for this clone
	git config core.hooksPath githooks
	@echo "hooks: commits that change inventories/production/ or group_vars/ now need 'Talep: 2026/1234'"

plan: venv ## Check-mode plan with --diff (INVENTORY=, LIMIT=): reports/plan/plan.md
	INVENTORY=$(INVENTORY) ci/plan.sh

apply: venv ## Apply in batches like the pipeline (INVENTORY=, LIMIT=, APPLY_SERIAL=, APPLY_MAX_FAIL_PERCENTAGE=)
	INVENTORY=$(INVENTORY) ci/apply.sh

ledger-verify: ## Verify the run ledger's hash chain (LEDGER=path; default the control node's)
	tools/ledger.py verify $(LEDGER)

change-report: ## Changes from git joined with the ledger (SINCE=, UNTIL=, LEDGER=): reports/changes/
	tools/change_report.py --since $(SINCE) --until $(UNTIL) --ledger $(LEDGER) --out-dir reports/changes

clean: lab-down ## Remove the lab and the venv (keeps the image cache in .cache/)
	rm -rf $(VENV) .lab
