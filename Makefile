# tuanjian — the two commands: `make run` (set up everything, serve the demo) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
FLASK  := $(BIN)/flask --app tuanjian

.PHONY: run setup test test-fast test-quick lint check-python migrate demo bench clean

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "需要 Python 3.11 或更新版本 (Python 3.11+ is required)")'

$(BIN)/.installed: pyproject.toml | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(BIN)/.installed-test: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

instance/secret_key:
	@mkdir -p instance
	@$(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@
	@chmod 600 $@
	@echo "已生成密钥 instance/secret_key"

migrate: $(BIN)/.installed instance/secret_key
	$(FLASK) db upgrade

setup: migrate
	$(FLASK) demo --if-empty

# The demo logins are printed once, by `flask demo --if-empty` (when it seeds, or when it finds them already there).
run: setup
	@echo "打开 http://$(HOST):$(PORT)/  （按 Ctrl+C 停止）"
	$(BIN)/gunicorn -c python:tuanjian.gunicorn_conf --workers 4 --bind $(HOST):$(PORT) 'tuanjian:create_app()'

# The suite runs on TEST_WORKERS processes (pytest-xdist; each has its own SQLite files, PostgreSQL database
# <name>_gw0, … and chromium); worksteal keeps both busy to the end whatever the tests' lengths.
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist worksteal

test: $(BIN)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(XDIST) --durations=20

test-fast: $(BIN)/.installed-test
	$(BIN)/python -m pytest $(XDIST) -m 'not e2e and not bench' -x -q

# The fastest subset, while working: the pure rules and the layer checks (seconds, no database); then run the
# test files of what you changed, and make test-fast before handing over.
test-quick: $(BIN)/.installed-test
	$(BIN)/python -m pytest -n 0 -x -q tests/domain tests/test_layers.py

lint: $(BIN)/.installed-test
	$(BIN)/ruff check .

bench: $(BIN)/.installed-test
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info tests/artifacts .ruff_cache
