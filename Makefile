# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# `make run` installs the service's dependencies only, builds the learned models that are missing
# (as `assistant train` does) and serves; `make test` and the eval-* targets also install the dev group
# (pytest, ragas, playwright …).
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run train test test-cluster install install-runtime eval-kb eval-nlu eval-dialogues eval-answers eval-compliance eval-handoff eval-stt bench bench-load clean

# Each step says how long it took.
TIMED = sh scripts/timed.sh

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==0.13.9

# The environment is rebuilt only when the lock file changes. The runtime install leaves the dev
# group in place when it is there (--inexact), so `make run` after `make test` keeps the tests working.
$(VENV)/.synced-runtime: pyproject.toml uv.lock | $(UV)
	$(TIMED) "安装运行依赖" $(UV) sync --frozen --no-dev --inexact --python $(PYTHON)
	touch $@

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(TIMED) "安装依赖（含开发组）" $(UV) sync --frozen --python $(PYTHON)
	touch $@ $(VENV)/.synced-runtime

install-runtime: $(VENV)/.synced-runtime

install: $(VENV)/.synced

train: install-runtime
	$(TIMED) "构建模型" $(VENV)/bin/assistant train

# One process: the models are built (what is missing, with a progress bar) and the service started
# without importing everything twice; the log says when it is ready, and after how long.
run: install-runtime
	$(VENV)/bin/assistant serve --train

# The browser tests drive Debian's chromium (installed here once when missing; never downloaded by Playwright).
test: install
	sh scripts/install-browser.sh
	$(VENV)/bin/pytest -q

# Two hosts of two workers, a Chroma server and a Redis of their own, the local PostgreSQL
# (scripts/cluster.py): indexing once, a document added live, and the faults. About five minutes.
test-cluster: install
	$(VENV)/bin/pytest -q -m cluster tests/cluster

eval-kb: install
	$(VENV)/bin/python -m eval kb

eval-nlu: install
	$(VENV)/bin/python -m eval nlu

eval-dialogues: install
	$(VENV)/bin/python -m eval dialogues

eval-answers: install
	$(VENV)/bin/python -m eval answers

eval-compliance: install
	$(VENV)/bin/python -m eval compliance

eval-handoff: install
	$(VENV)/bin/python -m eval handoff

eval-stt: install
	$(VENV)/bin/python -m eval stt

bench: install
	$(VENV)/bin/python -m eval.bench_kb

bench-load: install
	$(VENV)/bin/python -m eval.bench_load

clean:
	rm -rf $(VENV) $(TOOLS) var
