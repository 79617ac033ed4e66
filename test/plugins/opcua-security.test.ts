import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';
import { createOpcuaSensors, type OpcuaSensorsPlugin } from '../../plugins/opcua-sensors/index.js';
import { realTimePluginContext, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { TestOpcuaServer } from '../helpers/opcua-server.js';

const URI = 'urn:choco-edge:test:secure';
type Devices = Record<string, { state: string; code?: string; message: string; security: string }>;

/**
 * Logins and security modes against a real node-opcua server that offers only Basic256Sha256 (Sign, SignAndEncrypt)
 * and refuses anonymous sessions: user + password (the password from a file, as systemd credentials give it), an
 * X.509 user certificate (made here with openssl), a wrong password, and a client configured for None.
 */
describe('OPC UA security and login', () => {
  const dir = mkdtempSync(join(tmpdir(), 'choco-opcua-sec-'));
  const pki = join(dir, 'client-pki');
  let server: TestOpcuaServer;
  let store: SeriesStore;
  let plugin: OpcuaSensorsPlugin;
  const devices = () => plugin.health().details!.devices as Devices;

  beforeAll(async () => {
    server = new TestOpcuaServer({ port: await freePort(), pkiDir: join(dir, 'plc'), namespaceUri: URI, secure: true, users: [{ username: 'gateway', password: 's3cret-Pa55' }], variables: [{ id: 'Floor.Temp', dataType: 'Double', value: 19.5 }] });
    await server.start();
    server.trustIn(pki);
    const passwordFile = join(dir, 'opcua-password');
    writeFileSync(passwordFile, 's3cret-Pa55\n');
    const key = join(dir, 'user-key.pem');
    const cert = join(dir, 'user-cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=choco-edge operator', '-addext', 'subjectAltName=URI:urn:choco-edge:operator'], { stdio: 'pipe', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const common = { endpointUrl: server.endpointUrl, maxBackoffMs: 400, requestTimeoutMs: 2000, publishingIntervalMs: 50, storeMs: 100 };
    const point = (name: string) => [{ name, nodeId: `nsu=${URI};s=Floor.Temp`, samplingMs: 20 }];
    const config = testConfig('http://127.0.0.1:9', {
      opcua: {
        pkiDir: pki,
        devices: [
          { name: 'password', ...common, security: 'SignAndEncrypt', auth: { type: 'user', username: 'gateway', password: { file: passwordFile } }, points: point('t_password') },
          { name: 'usercert', ...common, security: 'Sign', auth: { type: 'certificate', certificate: cert, privateKey: key }, points: point('t_cert') },
          { name: 'wrongpass', ...common, security: 'Sign', auth: { type: 'user', username: 'gateway', password: 'not-the-Pa55word' }, points: point('t_wrong') },
          { name: 'plain', ...common, security: 'None', auth: { type: 'user', username: 'gateway', password: { file: passwordFile } }, points: point('t_plain') },
        ],
      },
    });
    store = await SeriesStore.open(join(config.dataDir, 'store'));
    plugin = createOpcuaSensors(realTimePluginContext(config, store));
    await plugin.start();
  }, 60_000);

  afterAll(async () => {
    await plugin?.stop();
    await server?.stop();
    await store?.close();
  });

  it('logs in with a password read from a file over SignAndEncrypt', async () => {
    await vi.waitFor(() => expect(plugin.readings().t_password).toMatchObject({ state: 'ok', value: 19.5 }), { timeout: 60_000 });
    expect(devices().password).toMatchObject({ state: 'ok', security: 'Basic256Sha256 SignAndEncrypt' });
  });

  it('logs in with an X.509 user certificate', async () => {
    await vi.waitFor(() => expect(plugin.readings().t_cert).toMatchObject({ state: 'ok', value: 19.5 }), { timeout: 60_000 });
  });

  it('names a refused login without showing the password, and a server without the configured security mode', async () => {
    await vi.waitFor(() => expect(devices().wrongpass).toMatchObject({ state: 'failed', code: 'login_failed' }), { timeout: 60_000 });
    await vi.waitFor(() => expect(devices().plain).toMatchObject({ state: 'failed', code: 'security_rejected', message: expect.stringContaining('no endpoint for security None') }), { timeout: 60_000 });
    const everything = JSON.stringify(plugin.health());
    expect(everything).not.toContain('not-the-Pa55word');
    expect(everything).not.toContain('s3cret-Pa55');
    expect(plugin.readings().t_password!.state).toBe('ok');
  });
});
