# belediye-iac: every target is a thin wrapper over a script; run `make help`.
SHELL := /bin/bash
export CONTAINERS_CONF := $(CURDIR)/lab/containers.conf
VENV := .venv
PY := $(VENV)/bin/python
LABCTL := $(PY) lab/labctl.py

.PHONY: help demo test deps venv lint unit image lab-up lab-down lab-status converge audit molecule integration docs clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

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

integration: deps venv ## The lab stage alone: up, converge twice, integration tests, down
	scripts/test.sh lab

image: deps venv ## Build or reuse the lab base image
	$(LABCTL) image

lab-up: deps venv ## Start the lab (idempotent; recovers from a killed run)
	$(LABCTL) up

lab-down: ## Remove every lab container, the network, the bridge and the proxy
	$(LABCTL) down

lab-status: ## Show the lab
	$(LABCTL) status

converge: venv ## Converge the running lab with playbooks/site.yml
	scripts/converge.sh

audit: venv ## ISMS audit of the running lab (changes nothing): bilingual report in reports/isms/
	$(VENV)/bin/ansible-playbook playbooks/isms-audit.yml

docs: venv ## Role README variable tables (from meta/argument_specs.yml) and the ISMS SoA (from controls.yml)
	$(PY) scripts/role_docs.py
	$(PY) scripts/isms_soa.py

clean: lab-down ## Remove the lab and the venv (keeps the image cache in .cache/)
	rm -rf $(VENV) .lab
