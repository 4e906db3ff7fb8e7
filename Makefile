# Two commands for a fresh Debian / Raspberry Pi OS machine:
#   make demo   — install everything, run the hub in simulation (receiver + core + kiosk)
#   make test   — install everything, run the whole test suite (what CI runs)

VENV   ?= .venv
PY     := $(VENV)/bin/python
HUB    := $(VENV)/bin/hub
STAMP  := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test test-fast system-deps venv bench screenshots clean

demo: system-deps venv
	$(HUB) demo

test: system-deps venv
	$(PY) -m pytest

# Everything but the slow end-to-end and crash tests (not what CI runs).
test-fast: system-deps venv
	$(PY) -m pytest -m "not slow"

system-deps:
	bash scripts/install-system-deps.sh

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[kiosk,voice,test]'
	rm -f $(VENV)/.installed-*
	touch $@

# Every kiosk screen in every language, plus one contact sheet, into build/screenshots.
screenshots: system-deps venv
	bash scripts/screenshots.sh build/screenshots --audit

bench: system-deps venv
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
