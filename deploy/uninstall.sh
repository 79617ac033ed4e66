#!/usr/bin/env bash
# Stops and removes the choco-edge service. The data (/var/lib/choco-edge) and config stay unless --purge.
set -euo pipefail
PURGE=0
[ "${1:-}" = "--purge" ] && PURGE=1
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
systemctl disable --now choco-edge.service 2>/dev/null || true
rm -rf /etc/systemd/system/choco-edge.service /etc/systemd/system/choco-edge.service.d /etc/systemd/journald.conf.d/choco-edge.conf /opt/choco-edge
systemctl daemon-reload
if [ "$PURGE" = 1 ]; then
  rm -rf /var/lib/choco-edge /etc/choco-edge
  userdel choco-edge 2>/dev/null || true
fi
echo "choco-edge removed${PURGE:+ (purged)}"
