# The local stack of the Local First Inclusion platform.
#
#   make install                   uv sync of the whole workspace (installs uv first if missing)
#   make run                       PostgreSQL + NATS (started if none answers), every service
#   make test [ARGS="-k offer"]    the test suite (its own database and NATS namespace)
#   make migrate                   database, roles, schemas and every service's migrations
#   make token ROLE=la_admin [URN=123456] [ZONE=north]   a development bearer token
#   make lint                      ruff and mypy
#   make client                    the frontend's TypeScript types from the merged OpenAPI
#   make bench [ARGS="--only referral_list --duration 5"]   speed vs targets and a reference
#   make fuzz [LFI_FUZZ_EXAMPLES=200] [LFI_FUZZ_SEED=n] [LFI_FUZZ_STRICT=0]   longer API fuzzing
#   make clean-local               remove .local/ (keys, embedded PostgreSQL data, NATS store, logs)
#
# LFI_PG_ADMIN_URL and LFI_NATS_URL choose the servers (defaults: 127.0.0.1:5432 and :4222).

SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv on PATH, else where `pip install --user uv` puts it. Recursive (=): re-evaluated after
# `install` may have installed it.
UV = $(or $(shell command -v uv 2>/dev/null),$(wildcard $(HOME)/.local/bin/uv),uv)
RUN = $(UV) run --frozen
PYTHON_SOURCES = $(wildcard shared/src contracts/src services/*/src tools/devstack/src tools/bench/src)
# mypy maps each source root to its package (lfi_shared, lfi_<service>, lfi_devstack).
MYPYPATH = $(subst $(eval) ,:,$(PYTHON_SOURCES))

.PHONY: help install run test migrate token lint client clean-local bench fuzz

help:
	@sed -n '3,15s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

install:
	@uv_bin="$(UV)"; \
	if ! command -v "$$uv_bin" >/dev/null 2>&1; then \
		echo "uv not found: installing it with pip" >&2; \
		python3 -m pip install --user uv \
			|| python3 -m pip install --user --break-system-packages uv \
			|| python3 -m pip install uv; \
		uv_bin="$$(command -v uv || echo "$$(python3 -m site --user-base)/bin/uv")"; \
	fi; \
	"$$uv_bin" sync --frozen --all-packages

run: install
	@$(RUN) python -m lfi_devstack run

test: install
	@$(RUN) python -m lfi_devstack test $(ARGS)

migrate: install
	@$(RUN) python -m lfi_devstack migrate

token: install
	@$(if $(ROLE),,$(error ROLE is required, e.g. make token ROLE=la_admin))
	@$(RUN) python -m lfi_shared.auth.devtoken --keys .local/keys --role "$(ROLE)" \
		$(if $(URN),--urn "$(URN)") $(if $(ZONE),--zone "$(ZONE)")

# Both run even if the first fails, so one pass shows every finding.
lint: install
	@status=0; \
	echo "ruff check ."; $(RUN) ruff check . || status=1; \
	echo "mypy $(PYTHON_SOURCES)"; MYPYPATH=$(MYPYPATH) $(RUN) mypy $(PYTHON_SOURCES) || status=1; \
	exit $$status

client: install
	$(RUN) python -m lfi_gateway openapi --out clients/typescript/openapi.json
	cd clients/typescript && npm ci --no-audit --no-fund && npm run generate && npm run typecheck

fuzz: install
	@LFI_FUZZ_EXAMPLES="$(or $(LFI_FUZZ_EXAMPLES),200)" LFI_FUZZ_SEED="$(or $(LFI_FUZZ_SEED),$(shell date +%s))" \
		LFI_FUZZ_SHRINK=1 LFI_FUZZ_STRICT="$(LFI_FUZZ_STRICT)" \
		$(RUN) python -m lfi_devstack test tests/fuzz --timeout=0 $(ARGS)

bench: install
	@$(RUN) python -m lfi_bench $(ARGS)

clean-local:
	@pidfile=.local/pgdata/postmaster.pid; \
	if [ -f "$$pidfile" ] && kill -0 "$$(head -n1 "$$pidfile")" 2>/dev/null; then \
		echo "the embedded PostgreSQL is running from .local/pgdata: stop make run first" >&2; \
		exit 1; \
	fi
	rm -rf .local
