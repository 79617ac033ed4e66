#!/usr/bin/env bash
# Installs choco-edge as a systemd service: user, directories, build, unit, credentials, journald limits.
#   sudo deploy/install.sh            install from this checkout into /opt/choco-edge and start it
#   deploy/install.sh --root DIR --no-systemctl [--copy-modules]   lay the files out under DIR only (tests, image builds)
set -euo pipefail
ROOT=""
SYSTEMCTL=1
COPY_MODULES=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="$2"; shift 2 ;;
    --no-systemctl) SYSTEMCTL=0; shift ;;
    --copy-modules) COPY_MODULES=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
SRC="$(cd "$(dirname "$0")/.." && pwd)"
APP="$ROOT/opt/choco-edge"
ETC="$ROOT/etc/choco-edge"
UNIT_DIR="$ROOT/etc/systemd/system"

if [ -z "$ROOT" ]; then
  [ "$(id -u)" = 0 ] || { echo "run as root (or with --root DIR)" >&2; exit 1; }
  id -u choco-edge >/dev/null 2>&1 || useradd --system --home-dir /var/lib/choco-edge --shell /usr/sbin/nologin --user-group choco-edge
  getent group dialout >/dev/null && usermod -a -G dialout choco-edge
fi

echo "building in $SRC"
(cd "$SRC" && [ -d node_modules ] || npm ci --no-audit --no-fund)
(cd "$SRC" && npm run build --silent)

mkdir -p "$APP" "$ETC/credentials" "$UNIT_DIR/choco-edge.service.d" "$ROOT/etc/systemd/journald.conf.d" "$ROOT/var/lib/choco-edge"
cp -a "$SRC/package.json" "$SRC/package-lock.json" "$SRC/dist" "$SRC/models" "$SRC/plugins" "$SRC/gateway" "$SRC/config" "$SRC/README.md" "$APP/"
if [ "$COPY_MODULES" = 1 ]; then cp -a "$SRC/node_modules" "$APP/"; else (cd "$APP" && npm ci --omit=dev --no-audit --no-fund); fi
[ -f "$ETC/config.yaml" ] || cp "$SRC/config/linares.example.yaml" "$ETC/config.yaml"
chmod 0700 "$ETC/credentials"
install -m 0644 "$SRC/deploy/choco-edge.service" "$UNIT_DIR/choco-edge.service"
install -m 0644 "$SRC/deploy/journald-choco-edge.conf" "$ROOT/etc/systemd/journald.conf.d/choco-edge.conf"

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
  systemctl restart systemd-journald || true
  systemctl daemon-reload
  systemctl enable --now choco-edge.service
  systemctl --no-pager status choco-edge.service || true
fi
echo "installed under ${ROOT:-/}: app $APP, config $ETC/config.yaml, data /var/lib/choco-edge"
