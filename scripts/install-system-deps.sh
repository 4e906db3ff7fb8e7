#!/usr/bin/env bash
# Debian / Raspberry Pi OS packages the hub and its tests need.
# Idempotent: installs only what is missing. Runs apt-get as root (directly or via sudo).
set -euo pipefail

PKGS=(
  espeak-ng          # speech for pyttsx3, and test speech for voice recognition
  alsa-utils         # aplay: pyttsx3's espeak driver and the alarm sound play through it
  fonts-noto-cjk     # Chinese and Korean glyphs for the kiosk
  xvfb xauth         # a virtual screen for the kiosk tests
  libmtdev1 libgl1 libgl1-mesa-dri libegl1  # Kivy's input and OpenGL (software GL under Xvfb)
  dbus               # private system bus for mocked BlueZ tests
  libdbus-1-dev libglib2.0-dev pkg-config  # to build dbus-python for python-dbusmock
  sqlite3            # technicians inspect and back up the database
  sox                # mixes noise into the synthetic voice test corpus
  libportaudio2      # the microphone, through sounddevice
  systemd            # systemd-analyze verify/security for the unit tests
  debootstrap qemu-user-static binfmt-support  # the image build's arm64 root filesystem
  mtools dosfstools fdisk e2fsprogs  # the image's partitions without loop mounts
)
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  PKGS+=(python3-venv)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "Please install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: installed"
