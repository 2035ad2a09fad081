# p1reader — the board's life cycle as make targets. `make fab` and `make test` are all a new machine needs.
PY := .venv/bin/python

.PHONY: setup fab test check bench flash review

# Set-up is idempotent: installs KiCad 9, ngspice, socat and the venv only when missing.
setup:
	@bash setup.sh

# Regenerate kicad/ from the circuit, check it (ERC, DRC, P1 rules, signal integrity) and export gerbers/.
# Each step is skipped when its input hash matches fab-steps.json; FORCE=1 runs them all.
fab: setup
	@$(PY) -m p1reader fab $(if $(FORCE),--force)

# Checks only, on the committed kicad/ files.
check: setup
	@$(PY) -m p1reader check

test: setup
	@$(PY) -m pytest -q

bench: setup
	@$(PY) -m tests.bench

# Write MicroPython and the bring-up firmware to a D32: make flash PORT=/dev/ttyUSB0 MPY_FIRMWARE=esp32.bin
# The reader instead: make flash PORT=… MPY_FIRMWARE=… APP=reader CONFIG=reader.json (checked before flashing)
APP ?= bringup
flash: setup
	@$(PY) -m firmware.host.flash --port "$(PORT)" --firmware "$(MPY_FIRMWARE)" --app "$(APP)" $(if $(CONFIG),--config "$(CONFIG)")

# What changed since a revision, by part and net, with pictures and every check before and after:
# make review BASE=v1.3 [OUT=review/] — review.md, review.json and index.html in OUT (cache: .review-cache/).
review: setup
	@$(if $(BASE),,echo "make review BASE=<git revision or folder> [OUT=review/]" >&2; exit 2)
	@$(PY) -m p1reader review "$(BASE)" -o "$(or $(OUT),review)"
