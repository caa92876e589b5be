# Every target works on a fresh machine: `setup` creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: setup test lint demo serve synth bench clean

$(BIN)/milkmobs: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -r deploy/requirements.txt
	touch $(BIN)/milkmobs

setup: $(BIN)/milkmobs

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --durations=15

lint: setup
	$(BIN)/ruff check src tests benchmarks deploy
	$(BIN)/mypy
	$(BIN)/lint-imports

demo: setup
	$(BIN)/milkmobs demo

serve: setup
	$(BIN)/milkmobs serve

synth: setup
	cd deploy && ../$(BIN)/python app.py

bench: setup
	$(BIN)/python benchmarks/clustering.py

clean:
	rm -rf $(VENV) build dist *.egg-info deploy/cdk.out
