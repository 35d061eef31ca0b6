# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
INSTANCE ?= instance

.PHONY: demo test install install-test system-deps lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Chromium (browser tests, image export) and a CJK font (map labels, exported Chinese text)
# come from Debian. Installed only when missing and only when we may (root).
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium chromium-driver"; \
	fc-list 2>/dev/null | grep -q "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "please install with root:$$missing (apt-get install$$missing)"; exit 1; \
	  fi; \
	fi

demo: system-deps install
	SHIYU_INSTANCE_PATH=$(INSTANCE) $(VENV)/bin/shiyu demo

lint: install-test
	$(VENV)/bin/ruff check dashboard layouts callbacks geo data tests bench
	$(VENV)/bin/ruff format --check dashboard layouts callbacks geo data tests bench
	$(VENV)/bin/mypy

test: system-deps install-test lint
	$(PY) -m pytest -q

bench: install-test
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(INSTANCE) .pytest_cache .ruff_cache .mypy_cache
