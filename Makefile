# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test install eval-kb eval-nlu eval-dialogues eval-compliance eval-stt bench bench-load clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

# The environment is rebuilt only when the lock file changes.
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: $(VENV)/.synced

run: install
	$(VENV)/bin/assistant serve

# The browser tests drive Debian's chromium (installed here once when missing; never downloaded by Playwright).
test: install
	sh scripts/install-browser.sh
	$(VENV)/bin/pytest -q

eval-kb: install
	$(VENV)/bin/assistant eval kb

eval-nlu: install
	$(VENV)/bin/assistant eval nlu

eval-dialogues: install
	$(VENV)/bin/assistant eval dialogues

eval-compliance: install
	$(VENV)/bin/assistant eval compliance

eval-stt: install
	$(VENV)/bin/assistant eval stt

bench: install
	$(VENV)/bin/python -m eval.bench_kb

bench-load: install
	$(VENV)/bin/python -m eval.bench_load

clean:
	rm -rf $(VENV) $(TOOLS) var
