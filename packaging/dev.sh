#!/usr/bin/env bash
# Lightbox's two commands (see README):
#   bash packaging/dev.sh run  [lightbox options]   set up, then start the workstation
#   bash packaging/dev.sh test [pytest options]     set up, then run every check and the whole test suite
# Setting up = the Debian packages that are missing (Qt's runtime libraries; for tests also DCMTK,
# dicom3tools, Orthanc and Xvfb), a virtual environment in .venv and `pip install -e .[test]`.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"

QT_RUNTIME=(libegl1 libgl1 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 libxkbcommon0
            libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
            libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1 libx11-xcb1)
# orthanc: a real Storage Commitment SCU (tests/integration/test_storage_commitment_orthanc.py)
# postgresql: the index on PostgreSQL (tests/pg_cluster.py starts a private cluster)
# desktop-file-utils, shared-mime-info, systemd: validate the desktop entry, MIME types and service unit
# (tests/packaging)
TEST_PEERS=(dcmtk dicom3tools orthanc xvfb postgresql desktop-file-utils shared-mime-info systemd)

log() { printf '\033[1m[lightbox]\033[0m %s\n' "$*" >&2; }

find_python() {
    for candidate in python3.11 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            command -v "$candidate"; return 0
        fi
    done
    return 1
}

# Install the given Debian packages that are not installed yet (needs root or password-less sudo).
ensure_debian_packages() {
    command -v dpkg-query >/dev/null 2>&1 || { log "not a Debian system: install $* yourself"; return 0; }
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
            log "missing system packages: ${missing[*]} - install them as root (apt-get install ${missing[*]})"
            return 1
        fi
    fi
    log "installing system packages: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
    local python
    python=$(find_python) || { log "Python 3.11 or newer is needed (Debian: apt-get install python3)"; exit 1; }
    if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        ensure_debian_packages python3-venv
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating the virtual environment in .venv"
        "$python" -m venv "$VENV"
    fi
    # Reinstall only when the project's dependencies changed since the last install.
    local stamp="$VENV/.lightbox-installed" want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x "$VENV/bin/lightbox" ]; then
        log "installing Lightbox and its dependencies into .venv"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e ".[test]"
        rm -f "$VENV/share/lightbox/demo/manifest.json"  # a new install makes its own demo studies
        echo "$want" > "$stamp"
    fi
    # The synthetic demo studies the first-run welcome offers, made once per install into
    # .venv/share/lightbox/demo (app.services.demo_files), never downloaded.
    if [ ! -f "$VENV/share/lightbox/demo/manifest.json" ]; then
        log "making the demo studies (.venv/share/lightbox/demo)"
        env -u LIGHTBOX_DEMO_DIR "$VENV/bin/lightbox" demo --install >/dev/null
    fi
}

cmd=${1:-run}; shift || true
case "$cmd" in
    run)
        ensure_debian_packages "${QT_RUNTIME[@]}"
        ensure_venv
        if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
            log "no display found (DISPLAY/WAYLAND_DISPLAY unset): run this from a desktop session"
            exit 1
        fi
        exec "$VENV/bin/lightbox" "$@"
        ;;
    test)
        ensure_debian_packages "${QT_RUNTIME[@]}" "${TEST_PEERS[@]}"
        ensure_venv
        export QT_QPA_PLATFORM=offscreen
        log "ruff";          "$VENV/bin/ruff" check app tests benchmarks
        log "mypy";          "$VENV/bin/mypy"
        log "lint-imports";  "$VENV/bin/lint-imports"
        # One worker per core; --dist loadfile keeps a test file (and its module-scoped servers) on
        # one worker. LIGHTBOX_TEST_WORKERS=0 runs in one process.
        log "pytest";        exec "$VENV/bin/pytest" -n "${LIGHTBOX_TEST_WORKERS:-auto}" --dist loadfile "$@"
        ;;
    *)
        echo "usage: bash packaging/dev.sh run|test [options]" >&2; exit 2 ;;
esac
