#!/usr/bin/env bash
# Regenerate requirements-image.lock: resolve the hub's dependencies (with the kiosk and
# the lgpio pin factory) for the image's platform — linux aarch64, CPython 3.11 (bookworm)
# — wheels only, and write name==version with each wheel's SHA-256.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${PYTHON:-$HERE/../.venv/bin/python}"
REQS=$(cd "$HERE/.." && "$PY" - <<'PY'
import configparser
c = configparser.ConfigParser(); c.read("setup.cfg")
reqs = [r for r in c["options"]["install_requires"].split("\n") if r.strip()]
reqs += [r for r in c["options.extras_require"]["kiosk"].split("\n") if r.strip()]
print("\n".join(reqs + ["lgpio==0.2.2.0"]))
PY
)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mapfile -t args <<<"$REQS"
"$PY" -m pip install --quiet --dry-run --ignore-installed --report "$tmp/report.json" \
  --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
  --platform manylinux_2_36_aarch64 --platform manylinux_2_34_aarch64 \
  --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 \
  --target "$tmp/t" "${args[@]}"
"$PY" - "$tmp/report.json" > "$HERE/requirements-image.lock" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("# Pinned Python dependencies of the hub on the image (linux aarch64, CPython 3.11,\n"
      "# Debian bookworm). The image build downloads exactly these wheels (hashes checked) into a\n"
      "# wheelhouse and installs them with --no-index: nothing is resolved on the Pi.\n"
      "# Regenerate: image_build/lock.sh (after changing setup.cfg's install_requires or [kiosk]).\n")
for i in sorted(r["install"], key=lambda i: i["metadata"]["name"].lower()):
    name, ver = i["metadata"]["name"], i["metadata"]["version"]
    print(f"{name}=={ver} \\\n    --hash=sha256:{i['download_info']['archive_info']['hashes']['sha256']}")
PY
echo "wrote $HERE/requirements-image.lock"
