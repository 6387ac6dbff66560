#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv.
#
# Why a script and not "pip install -r": TFX 1.16 only runs on Python 3.10 and
# only with a hand-picked set of versions (see requirements/lock.txt), so the
# environment must be built from an exact interpreter and an exact lock.  The
# script is idempotent: a stamp file records the hash of the lock and of
# setup.py; when both are unchanged a second run returns in well under a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
LOCK="$ROOT/requirements/lock.txt"
STAMP="$VENV/.image-tfx-installed"

log() { printf '[setup] %s\n' "$*" >&2; }

is_py310() {
  [ -n "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1
}

find_python310() {
  # 1. Whatever the user points at explicitly.
  if is_py310 "${PYTHON310:-}"; then echo "$PYTHON310"; return; fi
  # 2. python3.10 / python3 / python on PATH (a pyenv shim that is not active fails the check).
  local cand
  for cand in python3.10 python3 python; do
    if command -v "$cand" >/dev/null 2>&1 && is_py310 "$(command -v "$cand")"; then
      command -v "$cand"; return
    fi
  done
  # 3. Any pyenv-installed 3.10.x, active or not.
  local pyenv_root="${PYENV_ROOT:-}"
  if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null 2>&1; then pyenv_root="$(pyenv root)"; fi
  [ -z "$pyenv_root" ] && pyenv_root="$HOME/.pyenv"
  for cand in $(ls -d "$pyenv_root"/versions/3.10* 2>/dev/null | sort -rV); do
    if is_py310 "$cand/bin/python3.10"; then echo "$cand/bin/python3.10"; return; fi
  done
  # 4. uv-managed interpreters (installing one with uv if uv is there).
  if command -v uv >/dev/null 2>&1; then
    cand="$(uv python find 3.10 2>/dev/null || true)"
    if ! is_py310 "$cand"; then
      uv python install 3.10 >&2 || true
      cand="$(uv python find 3.10 2>/dev/null || true)"
    fi
    if is_py310 "$cand"; then echo "$cand"; return; fi
  fi
  return 1
}

# System libraries no pip wheel brings: the TFLite metadata writer (tflite-support) loads libusb-1.0 at
# import, so without it every run fails at export.  Installed when this is a root shell with apt-get
# (a fresh container); otherwise named, with the command to run.
if ! ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0'; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing libusb-1.0-0 (the TFLite metadata writer loads it)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libusb-1.0-0; } >/dev/null
  else
    log "ERROR: the system library libusb-1.0 is missing; the TFLite metadata writer needs it."
    log "Fix: 'sudo apt-get install libusb-1.0-0' (Debian/Ubuntu) or your system's libusb 1.0 package."
    exit 1
  fi
fi

want_stamp="$(cat "$LOCK" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ] || ! is_py310 "$VENV/bin/python"; then
  PY="$(find_python310)" || {
    log "ERROR: Python 3.10 not found (TFX 1.16 needs exactly 3.10)."
    log "Looked at \$PYTHON310, python3.10/python3/python on PATH, pyenv versions and uv."
    log "Fix: 'pyenv install 3.10' or 'uv python install 3.10', or set PYTHON310=/path/to/python3.10."
    exit 1
  }
  log "creating $VENV with $PY"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi

log "installing pinned dependencies from requirements/lock.txt (first time: ~5 min, ~3.3 GB)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip==24.3.1"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$LOCK"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT"
log "checking dependency consistency (pip check)"
"$VENV/bin/python" -m pip check
echo "$want_stamp" > "$STAMP"
log "environment ready: $VENV"
