# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test install install-test translations messages system-packages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations
install-test: $(VENV)/.installed-test translations

# Compiled catalogs are build products (not committed); Babel ships with Flask-Babel.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d portal/translations --use-fuzzy 2>&1 | grep -v "^compiling" || true

run: install
	$(BIN)/portal init
	$(BIN)/portal serve

test: install-test
	$(BIN)/python -m pytest

# Refresh the message template and the English catalog after changing UI strings.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _ --no-location --sort-output -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching

# Debian packages the browser tests drive (CI runs this as root before `make test`).
system-packages:
	@command -v chromedriver >/dev/null && command -v chromium >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

clean:
	rm -rf $(VENV) instance .pytest_cache
