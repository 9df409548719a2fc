# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make demo   - local virtual environment, signtrain, a synthetic example, the whole pipeline on it
#   make test   - the same environment (with the dev extras), then the import contracts and the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO := demo

.PHONY: demo test venv clean system-programs

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: venv
	rm -rf $(DEMO)
	$(BIN)/signtrain example-data $(DEMO)/MP_Data --signs 3 --sequences 30
	cd $(DEMO) && ../$(BIN)/signtrain validate-data MP_Data
	cd $(DEMO) && ../$(BIN)/signtrain train --config ../configs/base.yaml --set train.epochs=60
	cd $(DEMO) && ../$(BIN)/signtrain evaluate models/lstm_model.h5
	cd $(DEMO) && ../$(BIN)/signtrain export models/lstm_model.h5 --format tflite
	cd $(DEMO) && ../$(BIN)/signtrain predict models/export/lstm_model.tflite MP_Data/hello/0

test: venv system-programs
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q

# Programs some tests drive, installed where this machine can (root with apt-get, as CI): the speech
# engine (espeak-ng), and for the web page a real browser (chromium, chromium-driver), ffmpeg (the
# fake camera's .y4m) and node (the page's decision rule against the golden vectors).
SYSTEM_PROGRAMS = espeak-ng:espeak-ng chromium:chromium chromedriver:chromium-driver ffmpeg:ffmpeg node:nodejs
system-programs:
	@missing=""; for pair in $(SYSTEM_PROGRAMS); do command -v $${pair%%:*} >/dev/null 2>&1 || \
		missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "note: not installed and cannot be installed here:$$missing; the tests that need them will say so"; fi; \
	fi

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
