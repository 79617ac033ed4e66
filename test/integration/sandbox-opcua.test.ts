import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REPO, buildGatewayInto } from '../helpers/built-gateway.js';
import { freePort } from '../helpers/mosquitto.js';
import { TestOpcuaServer } from '../helpers/opcua-server.js';

/**
 * The built gateway with an OPC UA device (SignAndEncrypt) under every hardening directive of deploy/choco-edge.service
 * together (test/helpers/sandbox.py, as test/integration/sandbox.test.ts): ProtectSystem=strict leaves only the data
 * directory writable, so the client's PKI must live there (node-opcua's default ~/.config would fail or hang), as an
 * unprivileged user without capabilities and with a private /tmp.
 */
const SANDBOX = fileURLToPath(new URL('../helpers/sandbox.py', import.meta.url));
const NOBODY = 65534;
const URI = 'urn:choco-edge:test:sandbox';
const tool = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
const reason =
  process.getuid?.() !== 0 ? 'needs root (mount namespace, seccomp before dropping privileges)'
  : !tool('python3') ? 'needs python3 for the sandbox helper'
  : !tool('setpriv') ? 'needs setpriv (util-linux)'
  : !['x64', 'arm64'].includes(arch()) ? `no seccomp filter for ${arch()}`
  : spawnSync('python3', [SANDBOX, '--private-tmp', '/tmp', '--', 'true']).status !== 0 ? 'mount namespaces are not allowed here'
  : undefined;
if (reason) console.warn(`OPC UA sandbox test skipped: ${reason}`);

const chownTree = (path: string) => {
  chownSync(path, NOBODY, NOBODY);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry));
};

describe.skipIf(reason)('the built gateway with an OPC UA device under the unit sandbox', () => {
  let built: ReturnType<typeof buildGatewayInto>;
  let server: TestOpcuaServer;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    built = buildGatewayInto();
    server = new TestOpcuaServer({ port: await freePort(), pkiDir: join(tmpdir(), `choco-sandbox-plc-${process.pid}`), namespaceUri: URI, secure: true, variables: [{ id: 'Floor.Temp', dataType: 'Double', value: 22.5 }] });
    await server.start();
  }, 300_000);
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await server?.stop();
  });

  it('subscribes over SignAndEncrypt with its PKI inside the data directory, and stops cleanly', async () => {
    const data = join(built.root, 'var/lib/choco-edge-opcua');
    mkdirSync(data, { recursive: true });
    server.trustIn(join(data, 'opcua-pki'));
    const config = join(data, 'config.yaml');
    writeFileSync(config, JSON.stringify({ opcua: { devices: [{ name: 'plc', endpointUrl: server.endpointUrl, security: 'SignAndEncrypt', maxBackoffMs: 500, points: [{ name: 'floor_temp', nodeId: `nsu=${URI};s=Floor.Temp`, samplingMs: 100 }] }] } }));
    chownTree(data);
    const flags = ['--address-families', '--native-arch', '--protect-system', data, '--private-tmp', [built.root, ...(REPO.startsWith(`${tmpdir()}/`) ? [REPO] : [])].join(':'), '--no-caps', `${NOBODY}:${NOBODY}`, '--device-policy-closed'];
    const child = spawn('python3', [SANDBOX, ...flags, '--', process.execPath, built.main, 'start', '--config', config], {
      cwd: built.app,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', CHOCO_EDGE_DATA_DIR: data, CHOCO_EDGE_LOG_PRETTY: 'false', CHOCO_EDGE_LOG_LEVEL: 'info', CHOCO_EDGE_HTTP_PORT: '0', CHOCO_EDGE_MQTT_EMBEDDED_PORT: '0', CHOCO_EDGE_MQTT_EMBEDDED_WS_PORT: '0', CHOCO_EDGE_SOURCES_REE_ENABLED: 'false', CHOCO_EDGE_SOURCES_OMIE_ENABLED: 'false', CHOCO_EDGE_SOURCES_REPLAY_ENABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const url = await vi.waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}:\n${out}`);
        const line = out.split('\n').find((l) => l.includes('HTTP server listening'));
        if (!line) throw new Error('not listening yet');
        return (JSON.parse(line) as { url: string }).url;
      },
      { timeout: 90_000, interval: 100 },
    );
    await vi.waitFor(
      async () => {
        const sensors = (await (await fetch(`${url}/api/sensors`)).json()) as { points: Array<{ name: string; state: string; value: number; protocol: string }>; devices: Record<string, { message: string }> };
        expect(sensors.points.find((p) => p.name === 'floor_temp'), JSON.stringify(sensors.devices)).toMatchObject({ state: 'ok', value: 22.5, protocol: 'opcua' });
      },
      { timeout: 60_000, interval: 250 },
    );
    expect(existsSync(join(data, 'opcua-pki', 'own', 'certs', 'client_certificate.pem'))).toBe(true);
    child.kill('SIGTERM');
    expect(await exit, out).toBe(0);
    expect(out).not.toMatch(/"level":(50|60)/);
  }, 240_000);
});
