#!/usr/bin/env bash
# Installs choco-edge as a systemd service: user, directories, build, unit, credentials; a safe config (no devices,
# no lines, no outputs). It does not start the service unless asked.
#   sudo deploy/install.sh [--start] [--journald] [--copy-modules]
#   sudo deploy/install.sh --rollback [--start]     put the previous version back (kept as /opt/choco-edge.previous)
#   deploy/install.sh --root DIR --no-systemctl [--copy-modules]     lay the files out under DIR only (tests, images)
#     --start          enable and (re)start choco-edge.service after installing: an upgrade of a running gateway
#                      restarts it on the new version (otherwise: printed as a next step)
#     --rollback       swap /opt/choco-edge and /opt/choco-edge.previous (config and data are left as they are)
#     --journald       also install the journald limits (deploy/journald-choco-edge.conf); journald is not restarted
#     --copy-modules   copy this checkout's node_modules instead of running npm ci (offline install)
set -euo pipefail
ROOT=""
SYSTEMCTL=1
COPY_MODULES=0
START=0
JOURNALD=0
ROLLBACK=0
# A flag that takes a value and got none (or another flag): one sentence and exit 2, not "$2: unbound variable".
need_value() {
  if [ $# -lt 2 ] || [ -z "$2" ] || [ "${2#--}" != "$2" ]; then echo "install.sh: $1 needs a folder, e.g. $1 /tmp/choco-root (see the header of $0)" >&2; exit 2; fi
}
while [ $# -gt 0 ]; do
  case "$1" in
    --root) need_value "$@"; ROOT="$2"; shift 2 ;;
    --rollback) ROLLBACK=1; shift ;;
    --no-systemctl) SYSTEMCTL=0; shift ;;
    --copy-modules) COPY_MODULES=1; shift ;;
    --start) START=1; shift ;;
    --journald) JOURNALD=1; shift ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
SRC="$(cd "$(dirname "$0")/.." && pwd)"
APP="$ROOT/opt/choco-edge"
ETC="$ROOT/etc/choco-edge"
UNIT_DIR="$ROOT/etc/systemd/system"

if [ "$ROLLBACK" = 1 ]; then
  [ -n "$ROOT" ] || [ "$(id -u)" = 0 ] || { echo "run as root (or with --root DIR)" >&2; exit 1; }
  [ -d "$APP.previous" ] || { echo "install.sh: no previous version to roll back to ($APP.previous does not exist)" >&2; exit 2; }
  rm -rf "$APP.rollback"
  mv "$APP" "$APP.rollback" && mv "$APP.previous" "$APP" && mv "$APP.rollback" "$APP.previous"
  echo "rolled back: $APP is the previous version again ($(node -p "require('$APP/package.json').version" 2>/dev/null || echo '?')); the one it replaced is kept as $APP.previous"
  if [ "$SYSTEMCTL" = 1 ] && [ -z "$ROOT" ] && { [ "$START" = 1 ] || systemctl is-active --quiet choco-edge.service; }; then
    systemctl restart choco-edge.service
    echo "choco-edge.service restarted on the rolled-back version: journalctl -u choco-edge -f"
  fi
  exit 0
fi

need_node() {
  echo "choco-edge needs Node.js 20.19 or newer and npm; $1." >&2
  echo "On Debian 12 the packaged nodejs is 18.19, too old: install Node.js 22 (it includes npm) from the NodeSource" >&2
  echo "apt repository (https://github.com/nodesource/distributions), or unpack the official Linux binary tarball" >&2
  echo "from https://nodejs.org/en/download into /usr/local and put /usr/local/bin first on PATH." >&2
  exit 1
}
command -v node >/dev/null 2>&1 || need_node "node was not found on PATH"
NODE_VERSION="$(node -p 'process.versions.node')"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || need_node "this node is $NODE_VERSION"
command -v npm >/dev/null 2>&1 || need_node "npm was not found on PATH (Debian: apt-get install npm, or use the NodeSource nodejs, which includes it)"

if [ -z "$ROOT" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root (or with --root DIR)" >&2; exit 1; }
  id -u choco-edge >/dev/null 2>&1 || useradd --system --home-dir /var/lib/choco-edge --shell /usr/sbin/nologin --user-group choco-edge
  getent group dialout >/dev/null && usermod -a -G dialout choco-edge
fi

echo "building in $SRC (node $NODE_VERSION)"
(cd "$SRC" && { [ -d node_modules ] || npm ci --no-audit --no-fund; })
(cd "$SRC" && npm run build --silent)

# A fresh copy beside the old one, swapped in at the end: a re-install leaves no file of the previous version.
STAGE="$APP.new"
rm -rf "$STAGE"
mkdir -p "$STAGE" "$ETC/credentials" "$UNIT_DIR/choco-edge.service.d" "$ROOT/var/lib/choco-edge"
cp -a "$SRC/package.json" "$SRC/package-lock.json" "$SRC/dist" "$SRC/models" "$SRC/plugins" "$SRC/gateway" "$SRC/config" "$SRC/README.md" "$STAGE/"
# A production install drops the TF.js builds Node never loads (tools/prune-production.mjs, ~85 MB).
if [ "$COPY_MODULES" = 1 ]; then cp -a "$SRC/node_modules" "$STAGE/"; else (cd "$STAGE" && npm ci --omit=dev --no-audit --no-fund && node "$SRC/tools/prune-production.mjs" node_modules); fi
# The version it replaces is kept as $APP.previous for `install.sh --rollback` (one generation).
rm -rf "$APP.previous"
if [ -d "$APP" ]; then mv "$APP" "$APP.previous"; fi
mv "$STAGE" "$APP"

NEW_CONFIG=0
if [ ! -f "$ETC/config.yaml" ]; then cp "$SRC/deploy/config.yaml" "$ETC/config.yaml"; NEW_CONFIG=1; fi
chmod 0700 "$ETC/credentials"
install -m 0644 "$SRC/deploy/choco-edge.service" "$UNIT_DIR/choco-edge.service"
if [ "$JOURNALD" = 1 ]; then
  mkdir -p "$ROOT/etc/systemd/journald.conf.d"
  install -m 0644 "$SRC/deploy/journald-choco-edge.conf" "$ROOT/etc/systemd/journald.conf.d/choco-edge.conf"
fi

# One LoadCredential line per secret file present; the gateway reads them as *_FILE settings.
{
  echo "[Service]"
  for pair in esios_token:SOURCES_ESIOS_TOKEN aemet_api_key:SOURCES_AEMET_API_KEY openweathermap_api_key:SOURCES_OPENWEATHERMAP_API_KEY http_token:HTTP_TOKEN mqtt_password:MQTT_EXTERNAL_PASSWORD; do
    name="${pair%%:*}"; var="${pair#*:}"
    if [ -f "$ETC/credentials/$name" ]; then
      echo "LoadCredential=$name:/etc/choco-edge/credentials/$name"
      echo "Environment=CHOCO_EDGE_${var}_FILE=%d/$name"
    fi
  done
} > "$UNIT_DIR/choco-edge.service.d/credentials.conf"

if [ -z "$ROOT" ]; then
  chown -R root:choco-edge "$ETC" && chmod 0750 "$ETC"
  chown -R choco-edge:choco-edge /var/lib/choco-edge
fi
if [ "$SYSTEMCTL" = 1 ] && [ -z "$ROOT" ]; then
  systemctl daemon-reload
  WAS_ACTIVE=0
  systemctl is-active --quiet choco-edge.service && WAS_ACTIVE=1
  if [ "$START" = 1 ]; then
    # restart, not start: a gateway running the previous version must come back on this one.
    systemctl enable choco-edge.service
    systemctl restart choco-edge.service
    systemctl --no-pager status choco-edge.service || true
  elif [ "$WAS_ACTIVE" = 1 ]; then
    echo "note: choco-edge.service is still running the previous version; restart it to upgrade: sudo systemctl restart choco-edge"
  fi
fi

echo "installed under ${ROOT:-/}: app $APP, config $ETC/config.yaml$([ "$NEW_CONFIG" = 1 ] && echo ' (new: no devices, no lines, no outputs)' || echo ' (kept)'), data $ROOT/var/lib/choco-edge"
echo "next steps:"
echo "  1. edit $ETC/config.yaml (devices and lines: see $APP/config/linares.example.yaml) and check it:"
echo "       node $APP/dist/gateway/main.js check-config --config $ETC/config.yaml"
echo "  2. API keys and tokens go in $ETC/credentials/ (esios_token, aemet_api_key, openweathermap_api_key, http_token,"
echo "     mqtt_password), mode 0600; run this script again to register them"
if [ "$START" = 1 ] && [ "$SYSTEMCTL" = 1 ] && [ -z "$ROOT" ]; then
  echo "  3. the service is running: journalctl -u choco-edge -f; status page on http://<this host>:8080/"
else
  echo "  3. start it: sudo systemctl enable --now choco-edge   (or run this script with --start)"
fi
if [ "$JOURNALD" = 1 ]; then
  echo "  journald limits installed in $ROOT/etc/systemd/journald.conf.d/choco-edge.conf; they apply after: sudo systemctl restart systemd-journald"
else
  echo "  optional: bounded journald logs (200 MB, two weeks) with --journald"
fi
