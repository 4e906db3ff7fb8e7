#!/usr/bin/env bash
# Provision a Raspberry Pi OS (bookworm) machine as a home hub: run as root, on the Pi
# or in the image's chroot. Idempotent. Usage:
#   sudo image_build/provision.sh [--language ko] [--name "Kim Young-ja"] [--url https://…]
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
LANGUAGE=en NAME="" URL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --language) LANGUAGE="$2"; shift 2 ;;
    --name) NAME="$2"; shift 2 ;;
    --url) URL="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }

bash "$SRC/scripts/install-system-deps.sh"
apt-get install -y -qq --no-install-recommends cage bluez python3-lgpio >/dev/null || true

getent group hub >/dev/null || groupadd --system hub
id hub >/dev/null 2>&1 || useradd --system --gid hub --home-dir /var/lib/hub --shell /usr/sbin/nologin hub
id hub-kiosk >/dev/null 2>&1 || useradd --system --create-home --user-group --shell /usr/sbin/nologin hub-kiosk
for g in gpio bluetooth audio; do getent group "$g" >/dev/null && usermod -aG "$g" hub; done
usermod -aG hub hub-kiosk

install -d -m 0755 /opt/hub
cp -a "$SRC/." /opt/hub/
python3 -m venv --system-site-packages /opt/hub/venv   # system lgpio for the real pins
/opt/hub/venv/bin/pip install --quiet "/opt/hub[kiosk]"

install -d -m 0755 /etc/hub
if [ ! -f /etc/hub/hub.toml ]; then
  sed -e "s|^language = .*|language = \"$LANGUAGE\"|" \
      -e "s|^elder_name = .*|elder_name = \"$NAME\"|" \
      -e "s|^url = .*|url = \"$URL\"|" "$SRC/image_build/hub.toml.example" > /etc/hub/hub.toml
  chmod 0644 /etc/hub/hub.toml
fi
install -m 0644 "$SRC/systemd/hub-core.service" "$SRC/systemd/hub-kiosk.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable hub-core.service hub-kiosk.service
echo "provisioned. Next: hub enroll --url URL --code CODE, then hub doctor."
