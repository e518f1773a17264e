# chapter5 — two commands:  `make lab` (set up + open the course)  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.chapter5-installed

.PHONY: install lab test download results clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

lab: install
	$(BIN)/jupyter lab notebooks/

# Unit tests + every notebook under nbval in quick mode (see conftest.py for the data root).
test: install
	$(BIN)/python -m pytest

download: install
	$(BIN)/python -m chapter5 download

results: install
	$(BIN)/python -m chapter5.results

clean:
	rm -rf $(VENV) .pytest_cache build
