#!/usr/bin/env bash
# Every kiosk screen in every language, plus one contact sheet, into a folder.
#   scripts/screenshots.sh [OUTDIR] [extra options for python -m hub.ui.screenshots]
# Example: scripts/screenshots.sh build/screenshots --size 1280x800 --audit
# Needs the kiosk extra (Kivy), Xvfb when there is no display, and fonts-noto-cjk.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
OUT="${1:-build/screenshots}"
shift || true
exec "$PY" -m hub.ui.screenshots "$OUT" "$@"
