# `make demo` and `make test` each set themselves up from nothing: they create .venv and
# install flanjax with what they need, from the package registries only.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_BASE := $(VENV)/.installed-base
STAMP_TEST := $(VENV)/.installed-test
# CPU wheel of torch that lies on the test machines; a bare `torch` pulls a CUDA build.
TORCH_PIN := torch==2.13.0
OUT ?= demo_output
INIT ?=

.PHONY: demo test bench clean lint

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel

$(STAMP_BASE): setup.py | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): setup.py | $(PY)
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e ".[test,hf,cache,export,aot]"
	touch $@ $(STAMP_BASE)

demo: $(STAMP_BASE)
	$(PY) -m flanjax.demo --out $(OUT) $(if $(INIT),--init $(INIT),)

test: $(STAMP_TEST)
	$(PY) -m pytest -q -n 2 --durations=15 tests

bench: $(STAMP_TEST)
	$(PY) -m benchmarks.run_all

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info
