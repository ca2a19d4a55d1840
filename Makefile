# The README's two commands: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_VERSION ?= 2.13.0
# The extras the tests need (everything but the gpu runtime).
EXTRAS ?= train,viz,baselines,dp,dask,dev,docs
DEMO_DIR ?= demo_out
# Real data: $GEXGEN_DATA when set, else ../shared/data when it exists; without
# either, `gexgen demo` downloads from the upstream repositories.
ifeq ($(origin GEXGEN_DATA), undefined)
ifneq ($(wildcard ../shared/data/rnaseqdb),)
GEXGEN_DATA := $(abspath ../shared/data)
export GEXGEN_DATA
endif
endif

.PHONY: setup test lint demo benchmark clean

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip >/dev/null
	@# torch: a CUDA build only where a CUDA GPU is present, else the CPU build
	@# (a local wheel where pip's find-links has one, else PyTorch's CPU index).
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
		$(PIP) install "torch==$(TORCH_VERSION)"; \
	elif ls $${PIP_FIND_LINKS:-/nonexistent}/torch-$(TORCH_VERSION)+cpu* >/dev/null 2>&1; then \
		$(PIP) install "torch==$(TORCH_VERSION)"; \
	else \
		$(PIP) install "torch==$(TORCH_VERSION)" --index-url https://download.pytorch.org/whl/cpu; \
	fi
	$(PIP) install -e ".[$(EXTRAS)]"
	@# compile the numba kernels once, here, not in the first evaluation (~20 s)
	$(PY) -m gexgen.metrics.warmup
	touch $@

setup: $(VENV)/.installed

test: setup
	$(PY) -m ruff check src tests benchmarks
	@# the docs site, built into a temporary folder (never committed)
	site=$$(mktemp -d) && NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet --site-dir $$site; status=$$?; rm -rf $$site; exit $$status
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks

demo: setup
	$(VENV)/bin/gexgen demo --out $(DEMO_DIR)

benchmark: setup
	for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
