# The one way to set up, run and test seragam-watch.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint setup

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch from the pinned CPU-usable build first, so nothing pulls a different one
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $@

run: setup
	$(BIN)/seragam serve

test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check detector datasets api
