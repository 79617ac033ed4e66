#!/usr/bin/env bash
# Stops and removes the choco-edge service. The data (/var/lib/choco-edge) and config stay unless --purge.
#   sudo deploy/uninstall.sh [--purge]
#   deploy/uninstall.sh --root DIR --no-systemctl [--purge]      remove what install.sh laid out under DIR
set -euo pipefail
PURGE=0
ROOT=""
SYSTEMCTL=1
while [ $# -gt 0 ]; do
  case "$1" in
    --purge) PURGE=1; shift ;;
    --root) if [ $# -lt 2 ] || [ -z "$2" ] || [ "${2#--}" != "$2" ]; then echo "uninstall.sh: --root needs a folder, e.g. --root /tmp/choco-root" >&2; exit 2; fi; ROOT="$2"; shift 2 ;;
    --no-systemctl) SYSTEMCTL=0; shift ;;
    *) echo "unknown argument $1 (usage: uninstall.sh [--purge])" >&2; exit 2 ;;
  esac
done
[ -n "$ROOT" ] || [ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
if [ "$SYSTEMCTL" = 1 ] && [ -z "$ROOT" ]; then systemctl disable --now choco-edge.service 2>/dev/null || true; fi
rm -rf "$ROOT/etc/systemd/system/choco-edge.service" "$ROOT/etc/systemd/system/choco-edge.service.d" "$ROOT/etc/systemd/journald.conf.d/choco-edge.conf" "$ROOT/opt/choco-edge" "$ROOT/opt/choco-edge.previous"
if [ "$SYSTEMCTL" = 1 ] && [ -z "$ROOT" ]; then systemctl daemon-reload; fi
if [ "$PURGE" = 1 ]; then
  rm -rf "$ROOT/var/lib/choco-edge" "$ROOT/etc/choco-edge"
  [ -z "$ROOT" ] && { userdel choco-edge 2>/dev/null || true; }
  echo "choco-edge removed and purged: data $ROOT/var/lib/choco-edge and config $ROOT/etc/choco-edge deleted"
else
  echo "choco-edge removed; kept the data in $ROOT/var/lib/choco-edge and the config in $ROOT/etc/choco-edge (--purge deletes them)"
fi
