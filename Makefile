# Every target works on a fresh machine: `setup` creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: setup test lint web-types demo serve synth bench clean

$(BIN)/milkmobs: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -r deploy/requirements.txt
	touch $(BIN)/milkmobs

setup: $(BIN)/milkmobs

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadgroup --durations=15

# Node dev tools for the web pages (type checks); pinned in package.json + package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The API's types for the pages' JSDoc, from the committed OpenAPI document.
web-types: node_modules/.package-lock.json
	npx --no-install openapi-typescript docs/openapi.json -o build/web/api.d.ts

lint: setup web-types
	$(BIN)/ruff check src tests benchmarks deploy
	$(BIN)/ruff format --check src tests benchmarks deploy
	$(BIN)/mypy
	$(BIN)/lint-imports
	npx --no-install tsc -p tsconfig.json

demo: setup
	$(BIN)/milkmobs demo

serve: setup
	$(BIN)/milkmobs serve

synth: setup
	cd deploy && $(abspath $(BIN))/python app.py

bench: setup
	$(BIN)/python benchmarks/clustering.py

clean:
	rm -rf $(VENV) build dist *.egg-info deploy/cdk.out node_modules
