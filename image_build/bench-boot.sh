#!/usr/bin/env bash
# Benchmark: boot the built image under qemu-system-aarch64 -M virt (the kernel and initrd
# taken from the image's root) and time until systemd reports the core READY
# ("Started hub-core.service", printed once Type=notify's READY=1 arrived).
#
#   sudo image_build/bench-boot.sh [build/image] [timeout-seconds]
#
# Needs qemu-system-arm (Debian; ~45 MB, so installed here and not in the CI deps).
# The image is copied to a scratch file first: the bench never changes the built image.
set -euo pipefail
WORK="${1:-$(cd "$(dirname "$0")/.." && pwd)/build/image}"
LIMIT="${2:-300}"
command -v qemu-system-aarch64 >/dev/null || {
  echo "installing qemu-system-arm for the boot bench"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-arm >/dev/null
}
ROOT="$WORK/root"
kernel=$(ls "$ROOT"/boot/vmlinuz-* | sort -V | tail -1)
initrd=$(ls "$ROOT"/boot/initrd.img-* | sort -V | tail -1)
scratch=$(mktemp -d); trap 'kill "${QPID:-0}" 2>/dev/null || true; rm -rf "$scratch"' EXIT
cp --sparse=always "$WORK/hub.img" "$scratch/hub.img"
log="$WORK/bench-boot.log"
start=$(date +%s.%N)
qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 -nographic -nic none \
  -kernel "$kernel" -initrd "$initrd" \
  -append "root=LABEL=HUBROOT rootfstype=ext4 rw console=ttyAMA0 systemd.show_status=1 systemd.journald.forward_to_console=1 systemd.mask=serial-getty@ttyAMA0.service overlayroot=disabled" \
  -drive "file=$scratch/hub.img,format=raw,if=none,id=d0" -device virtio-blk-pci,drive=d0,romfile= \
  >"$log" 2>&1 </dev/null &
QPID=$!
result="timeout"
while kill -0 "$QPID" 2>/dev/null; do
  now=$(date +%s.%N)
  plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")  # systemd colours its status lines
  if grep -q "Started hub-core.service" <<<"$plain"; then result="ready"; break; fi
  if grep -q "Failed to start hub-core.service\|Kernel panic" <<<"$plain"; then result="failed"; break; fi
  if (( $(echo "$now - $start > $LIMIT" | bc) )); then break; fi
  sleep 0.5
done
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
printf 'boot to core READY under qemu-system-aarch64 -M virt: %s after %.1f s (log %s)\n' "$result" "$elapsed" "$log"
[ "$result" = ready ]
