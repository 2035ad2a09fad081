#!/usr/bin/env bash
# Set-up for p1reader: system tools (KiCad 9, ngspice, socat, PostgreSQL and Chromium for the bring-up
# database and yield-page tests) and the Python venv.
# Idempotent and quick when done; never asks questions (CI has no stdin).
set -euo pipefail

SUITE=bookworm

# The Debian mirror this machine's apt already uses, so that a local mirror or a proxy stays in use: the first
# URI of an enabled `deb` source for the plain $SUITE suite, read from deb822 `*.sources` files or one-line
# `sources.list`/`*.list` files under the apt folder given (normally /etc/apt). Empty when none is found.
debian_mirror_uri() {
  local apt_dir=$1 f uri
  for f in "$apt_dir"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" 'BEGIN { RS = "" }
      { types = ""; uris = ""; suites = ""; enabled = 1; n = split($0, line, "\n")
        for (i = 1; i <= n; i++) {
          l = line[i]
          if (l ~ /^[ \t]*#/) continue
          if (l ~ /^Types:/)   { sub(/^Types:[ \t]*/, "", l); types = " " l " " }
          if (l ~ /^URIs:/)    { sub(/^URIs:[ \t]*/, "", l); uris = l }
          if (l ~ /^Suites:/)  { sub(/^Suites:[ \t]*/, "", l); suites = " " l " " }
          if (l ~ /^Enabled:[ \t]*(no|false)/) enabled = 0
        }
        if (enabled && types ~ / deb / && suites ~ (" " suite " ")) { split(uris, u, " "); print u[1]; exit }
      }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in "$apt_dir"/sources.list "$apt_dir"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '$1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
}

# Write the $SUITE-backports source (deb822) into the apt folder given, on the machine's own mirror. With no
# Debian $SUITE source at all, apt could install nothing anyway: stop (exit 2) and say so.
write_backports_source() {
  local apt_dir=$1 uri
  uri=$(debian_mirror_uri "$apt_dir")
  if [ -z "$uri" ]; then
    echo "setup: no Debian $SUITE source in $apt_dir (sources.list or sources.list.d/): apt can install nothing;" \
      "add this machine's Debian $SUITE mirror and run \`make setup\` again" >&2
    return 2
  fi
  printf 'Types: deb\nURIs: %s\nSuites: %s-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" "$SUITE" > "$apt_dir/sources.list.d/$SUITE-backports.sources"
}

main() {
cd "$(dirname "${BASH_SOURCE[0]}")"
VENV=.venv
# Debian's python3 is the one that imports KiCad's pcbnew module; the venv sees it via system site-packages.
SYS_PY=/usr/bin/python3

need_apt=()
# `kicad-cli version` takes ~0.3 s: remembered per binary (path, size, time) so a no-op `make fab` stays quick
kicad_ok() {
  local exe id
  exe=$(command -v kicad-cli) || return 1
  id="$(readlink -f "$exe") $(stat -L -c '%s %Y' "$exe")"
  [ -f $VENV/.kicad-ok ] && [ "$(cat $VENV/.kicad-ok)" = "$id" ] && return 0
  kicad-cli version 2>/dev/null | grep -q '^9\.' || return 1
  [ -d $VENV ] && echo "$id" > $VENV/.kicad-ok
  return 0
}
kicad_ok || need_apt+=(kicad)
command -v ngspice >/dev/null || need_apt+=(ngspice)
command -v socat   >/dev/null || need_apt+=(socat)
# The bring-up results store is tested against a real PostgreSQL (a throw-away cluster, never the
# package's own) and the yield page in a real headless Chromium driven by Debian's chromedriver.
command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ] || need_apt+=(postgresql)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
# pdftoppm: the schematic PDF as pictures, to look at before calling a change done
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
# a C compiler and Python's headers: the router's loops are compiled with Cython
command -v gcc >/dev/null || need_apt+=(gcc)
compgen -G "/usr/include/python3*/Python.h" >/dev/null || need_apt+=(python3-dev)
[ -d /usr/share/kicad/symbols ] && [ -d /usr/share/kicad/footprints ] || need_apt+=(kicad-libs)

if [ ${#need_apt[@]} -gt 0 ]; then
  cmds=(
    "write_backports_source /etc/apt"
    "apt-get update -qq"
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports kicad kicad-symbols kicad-footprints"
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ngspice socat python3-venv python3-dev gcc postgresql chromium chromium-driver poppler-utils"
  )
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing system tools (${need_apt[*]}). Run \`sudo make setup\`: it adds a $SUITE-backports" >&2
    echo "source on this machine's own Debian mirror ($(debian_mirror_uri /etc/apt)), then runs:" >&2
    printf '  %s\n' "${cmds[@]:1}" >&2
    exit 1
  fi
  echo "setup: installing system tools (${need_apt[*]}) ..."
  if ! grep -rqs "$SUITE-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    eval "${cmds[0]}" || exit 2
  fi
  for c in "${cmds[@]:1}"; do eval "$c" >/dev/null; done
  kicad_ok || { echo "setup: kicad-cli 9 still missing after install" >&2; exit 1; }
fi

# Python environment: recreate only when pyproject.toml changed since the last install.
stamp=$VENV/.installed
if [ ! -f $stamp ] || [ pyproject.toml -nt $stamp ]; then
  [ -x $VENV/bin/python ] || $SYS_PY -m venv --system-site-packages $VENV
  echo "setup: installing Python dependencies into $VENV ..."
  $VENV/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  $VENV/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
  touch $stamp
fi
# The router's loops (hwtools/routing_loops.py, Python in Cython's pure form) compiled into an extension module
# beside it, which Python imports instead: whenever that module is missing or older than its source.
loops_so=$(compgen -G "hwtools/routing_loops.cpython-*.so" | head -1 || true)
if [ -z "$loops_so" ] || [ hwtools/routing_loops.py -nt "$loops_so" ]; then
  echo "setup: compiling hwtools/routing_loops.py (Cython) ..."
  had_build=$([ -e build ] && echo yes || true)  # the compiler's work folder: removed unless it was there before
  (cd hwtools && PYTHONWARNINGS=ignore "../$VENV/bin/cythonize" -i -3 -q routing_loops.py >/dev/null && rm -f routing_loops.c)
  [ -n "$had_build" ] || rm -rf build
fi
# Bytecode for hwtools, which every build process imports: an environment with PYTHONDONTWRITEBYTECODE set would
# otherwise compile every module again in each of them. Only when a module is newer than the last compilation.
if [ -n "$(find hwtools -name '*.py' -newer hwtools/__pycache__/bytecode.compiled -print -quit 2>/dev/null)" ] ||
   [ ! -f hwtools/__pycache__/bytecode.compiled ]; then
  $VENV/bin/python -m compileall -q hwtools && touch hwtools/__pycache__/bytecode.compiled
fi
}

# Sourced (tests): only the functions above; run: the set-up.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
