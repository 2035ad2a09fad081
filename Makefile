# p1reader — the board's life cycle as make targets. `make fab` and `make test` are all a new machine needs.
PY := .venv/bin/python

.PHONY: setup fab test check bench

# Set-up is idempotent: installs KiCad 9, ngspice, socat and the venv only when missing.
setup:
	@bash hwtools/setup.sh

fab: setup
	@$(PY) -m hwtools fab

check: setup
	@$(PY) -m hwtools check

test: setup
	@$(PY) -m pytest -q

bench: setup
	@$(PY) -m tests.bench
