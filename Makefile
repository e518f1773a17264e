# chapter5 — two commands:  `make lab` (set up + open the course)  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.chapter5-installed

.PHONY: install lab test download results bench clean chromium slides slides-vendor

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

lab: install
	$(BIN)/jupyter lab notebooks/

# Debian's headless Chromium (+ a Korean font for the screenshots) for the browser tests
# (tests/browser, `pytest -m browser`). Installed only when missing, apt-get exists and we are
# root; without chromium the browser tests skip with the reason instead of failing.
chromium:
	@pkgs=""; [ -x /usr/bin/chromium ] || pkgs=" chromium"; \
	[ -d /usr/share/fonts/truetype/nanum ] || pkgs="$$pkgs fonts-nanum"; \
	if [ -n "$$pkgs" ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing$$pkgs for the browser tests (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs >/dev/null) \
	    || echo "could not install$$pkgs: without chromium the browser tests are skipped"; \
	fi

# Offline reveal.js & co. for exported slides (npm registry, pinned + sha512-checked);
# without npm the slide test skips with the reason.
slides-vendor: install
	@$(BIN)/python -m chapter5 slides --vendor-only || echo "npm unavailable: the slide test will skip"

slides: install
	$(BIN)/python -m chapter5 slides

# Unit tests + every notebook under nbval in quick mode (see conftest.py for the data root),
# + every notebook run in JupyterLab in headless Chromium (tests/browser). Two pytest-xdist
# workers: notebook runs wait on kernels and the browser much of the time (conftest.py keeps
# what must run in order in one worker).
test: install chromium slides-vendor
	$(BIN)/python -m pytest -n 2 --dist loadgroup

download: install
	$(BIN)/python -m chapter5 download

results: install
	$(BIN)/python -m chapter5 results

# The textbook's loop against the course's, side by side on this machine -> docs/BENCHMARKS.md
bench: install
	$(BIN)/python -m chapter5 bench

clean:
	rm -rf $(VENV) .pytest_cache build
