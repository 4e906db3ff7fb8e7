#!/usr/bin/env bash
# Every kiosk screen in every language, plus contact sheets, into a folder:
#   OUTDIR/                  standard text, 800×480 (contact-sheet.png)
#   OUTDIR/largest-caption/  the largest text size with the speech caption shown — the
#                            transient state the independent walk found (issue 12)
#   scripts/screenshots.sh [OUTDIR] [extra options for python -m hub.ui.screenshots]
# Example: scripts/screenshots.sh build/screenshots --size 1280x800 --audit
# Needs the kiosk extra (Kivy), Xvfb when there is no display, and fonts-noto-cjk.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
OUT="${1:-build/screenshots}"
shift || true
"$PY" -m hub.ui.screenshots "$OUT" "$@"
exec "$PY" -m hub.ui.screenshots "$OUT/largest-caption" --text-size largest --caption "$@"
