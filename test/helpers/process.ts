import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../gateway/main.ts', import.meta.url));

/** Environment for a real gateway process on loopback: its own data dir, free ports, no live API, quiet logs. */
export function gatewayEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CHOCO_EDGE_DATA_DIR: mkdtempSync(join(tmpdir(), 'choco-proc-')),
    CHOCO_EDGE_HTTP_PORT: '0',
    CHOCO_EDGE_HTTP_HOST: '127.0.0.1',
    CHOCO_EDGE_MQTT_EMBEDDED_PORT: '0',
    CHOCO_EDGE_MQTT_EMBEDDED_WS_PORT: '0',
    CHOCO_EDGE_MQTT_EMBEDDED_HOST: '127.0.0.1',
    CHOCO_EDGE_SOURCES_REE_BASE_URL: 'http://127.0.0.1:9',
    CHOCO_EDGE_SOURCES_OMIE_BASE_URL: 'http://127.0.0.1:9',
    CHOCO_EDGE_FETCH_RETRIES: '0',
    CHOCO_EDGE_LOG_PRETTY: 'false',
    CHOCO_EDGE_CLOCK_VERIFY: 'false',
    ...extra,
  };
}
