# Agent Engine promotion: config, readiness checks and the runbook site.
# A fresh clone needs nothing else: the first target you run creates .venv and installs.

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
CONFIG  ?= config/agent_engine_envs.yaml
PROMOTION := $(BIN)/promotion --config $(CONFIG)

.DEFAULT_GOAL := help
export NO_MKDOCS_2_WARNING := 1
.PHONY: help install validate docs docs-check serve site site-zensical test test-fast bench fuzz lint \
        promote-agent-config-show promote-agent-config-dev-to-stage promote-agent-config-stage-to-prod \
        promote-agent-config-validate-dev-to-stage promote-agent-config-validate-stage-to-prod

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-46s %s\n", $$1, $$2}'
	@printf "  %-46s %s\n" "promote-agent-config-<from>-to-<to>" "show any other step of the pipeline (e.g. dev-to-qa)"
	@printf "  %-46s %s\n" "promote-agent-config-validate-<from>-to-<to>" "check any other step of the pipeline"
	@echo
	@echo "make exits 2 whenever a command fails, whatever the command's own code. Where the code"
	@echo "matters (CI: 1 config wrong, 2 not ready, 3 docs stale), call .venv/bin/promotion directly."

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,zensical]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its test tools and Zensical

validate: $(STAMP) ## check every config rule (promotion exits 1 when the config is wrong)
	$(PROMOTION) validate

docs: $(STAMP) ## validate the config and regenerate the runbook pages and the CLAUDE.md section
	$(PROMOTION) generate

docs-check: $(STAMP) ## exit 3 when the committed generated docs don't match the config
	$(PROMOTION) generate --check --diff

serve: $(STAMP) ## serve the runbook site on http://127.0.0.1:8000 (regenerates on edits)
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

site: $(STAMP) ## build the runbook site into site/ (strict)
	$(BIN)/mkdocs build --strict

# Zensical reads mkdocs.yml but runs no mkdocs plugin: generate here does what the promotion
# plugin does first (every rule, PROMOTION_GATE, the pages), so a failing rule fails this build too.
site-zensical: $(STAMP) ## build the runbook site into site/ with Zensical (strict; validate and generate first)
	$(PROMOTION) generate
	$(BIN)/zensical build -f mkdocs.yml --clean --strict

test: $(STAMP) ## run every test, the browser tests included
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) ## run the tests without the site builds and the browser
	$(BIN)/python -m pytest -q -m "not slow and not browser"

bench: $(STAMP) ## measure the CLI, the generator and the site build against their baselines
	$(BIN)/python tests/bench/bench.py

fuzz: $(STAMP) ## fuzz the loader for a bounded time (FUZZ_SECONDS, default 60)
	$(BIN)/python tests/fuzz/fuzz_loader.py --seconds $${FUZZ_SECONDS:-60}

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check generator tests
	$(BIN)/mypy

# --- the seed's five targets ---------------------------------------------------------------

promote-agent-config-show: $(STAMP) ## show every agent's engine per environment
	$(PROMOTION) show --agent all

promote-agent-config-dev-to-stage: $(STAMP) ## show the dev -> stage promotion path
	$(PROMOTION) path --from-env dev --to-env stage

promote-agent-config-stage-to-prod: $(STAMP) ## show the stage -> prod promotion path
	$(PROMOTION) path --from-env stage --to-env prod

promote-agent-config-validate-dev-to-stage: $(STAMP) ## fail while an agent is blocked on dev -> stage
	$(PROMOTION) validate --from-env dev --to-env stage

promote-agent-config-validate-stage-to-prod: $(STAMP) ## fail while an agent is blocked on stage -> prod
	$(PROMOTION) validate --from-env stage --to-env prod

# Any other step of a configured pipeline (e.g. dev -> qa): the generated pages name these.
# A stem without `-to-` (a typo such as promote-agent-config-dev-stage) gets a one-line hint.
STEP_HINT = { printf 'make: no target %s; use promote-agent-config-[validate-]<from>-to-<to>: ' '$@'; \
	$(PROMOTION) steps | sed 's/^/promote-agent-config-validate-/' | tr '\n' ' '; echo; } >&2; exit 2

promote-agent-config-validate-%: $(STAMP)
	@case '$*' in *-to-*) ;; *) $(STEP_HINT);; esac
	$(PROMOTION) validate --from-env $(word 1,$(subst -to-, ,$*)) --to-env $(word 2,$(subst -to-, ,$*))

promote-agent-config-%: $(STAMP)
	@case '$*' in *-to-*) ;; *) $(STEP_HINT);; esac
	$(PROMOTION) path --from-env $(word 1,$(subst -to-, ,$*)) --to-env $(word 2,$(subst -to-, ,$*))
