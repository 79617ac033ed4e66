import { existsSync, mkdtempSync, readdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SeriesStore } from '../../gateway/series/store.js';
import { createOpcuaSensors, type OpcuaSensorsPlugin } from '../../plugins/opcua-sensors/index.js';
import { realTimePluginContext, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { TestOpcuaServer, type TestVariable } from '../helpers/opcua-server.js';

/**
 * OPC UA floor points against a real node-opcua server in this process (free port, its PKI in a temp directory),
 * secured with Basic256Sha256 Sign: the client's own certificate is created in the gateway's PKI folder, the
 * server's certificate is trusted by copying it into trusted/certs, as an engineer would.
 */

const URI = 'urn:choco-edge:test:line1';
const variables = (): TestVariable[] => [
  { id: 'Floor.Temp', dataType: 'Double', value: 21.5 },
  { id: 1001, dataType: 'Double', value: 48.2 },
  { id: 'Floor.Counter', dataType: 'Double', value: 1 },
  { id: 'Floor.Label', dataType: 'String', value: 'not a number' },
  { id: 'Tank.Level', dataType: 'Int16', value: 512 },
];

type Devices = Record<string, { state: string; code?: string; message: string; namespace_changes: number; sessions: number; secure_channel_renewals: number; last_fault: { code: string } | null; namespaces: Record<string, number> }>;

describe('OPC UA sensors against a real node-opcua server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'choco-opcua-'));
  const pki = join(dir, 'client-pki');
  let port: number;
  let server: TestOpcuaServer;
  let stranger: TestOpcuaServer;
  let store: SeriesStore;
  let plugin: OpcuaSensorsPlugin;
  const published: Array<{ topic: string; payload: Record<string, unknown> }> = [];
  const devices = () => plugin.health().details!.devices as Devices;

  beforeAll(async () => {
    port = await freePort();
    server = new TestOpcuaServer({ port, pkiDir: join(dir, 'plc'), namespaceUri: URI, secure: true, variables: variables() });
    stranger = new TestOpcuaServer({ port: await freePort(), pkiDir: join(dir, 'stranger'), namespaceUri: URI, secure: true, variables: [{ id: 'Floor.Temp', dataType: 'Double', value: 30 }] });
    await server.start();
    await stranger.start();
    server.trustIn(pki);
    const common = { security: 'Sign', maxBackoffMs: 400, requestTimeoutMs: 2000, publishingIntervalMs: 50, storeMs: 100 };
    const config = testConfig('http://127.0.0.1:9', {
      opcua: {
        pkiDir: pki,
        devices: [
          {
            name: 'line1',
            endpointUrl: server.endpointUrl,
            ...common,
            secureChannelLifetimeMs: 1500,
            points: [
              { name: 'floor_temp', nodeId: `nsu=${URI};s=Floor.Temp`, samplingMs: 20, deadband: 0.5 },
              { name: 'power', nodeId: `nsu=${URI};i=1001`, samplingMs: 20, unit: 'kW' },
              { name: 'counter', nodeId: `nsu=${URI};s=Floor.Counter`, samplingMs: 20, unit: 'percent' },
              { name: 'label', nodeId: `nsu=${URI};s=Floor.Label`, samplingMs: 20 },
              { name: 'tank_level', nodeId: `nsu=${URI};s=Tank.Level`, samplingMs: 20, scale: 0.1, unit: 'percent' },
              { name: 'ghost', nodeId: `nsu=${URI};s=No.Such.Tag`, samplingMs: 20 },
            ],
          },
          { name: 'stranger', endpointUrl: stranger.endpointUrl, ...common, points: [{ name: 'stranger_temp', nodeId: `nsu=${URI};s=Floor.Temp`, samplingMs: 20 }] },
        ],
      },
    });
    store = await SeriesStore.open(join(config.dataDir, 'store'), { readings: { commitMs: 200 } });
    const ctx = realTimePluginContext(config, store);
    const publish = ctx.mqtt.publish.bind(ctx.mqtt);
    ctx.mqtt.publish = ((topic: string, payload: Record<string, unknown>, opts?: unknown) => {
      published.push({ topic, payload });
      return publish(topic as never, payload as never, opts as never).catch(() => undefined);
    }) as typeof ctx.mqtt.publish;
    plugin = createOpcuaSensors(ctx);
    await plugin.start();
  }, 60_000);

  afterAll(async () => {
    await plugin?.stop();
    await server?.stop();
    await stranger?.stop();
    await store?.close();
  });

  it('subscribes to string and numeric node ids named by namespace URI, into the readings store, with the client PKI in the configured folder', async () => {
    await vi.waitFor(() => expect(plugin.readings().power).toMatchObject({ state: 'ok', value: 48.2, protocol: 'opcua' }), { timeout: 60_000 });
    await vi.waitFor(() => expect(plugin.readings().floor_temp).toMatchObject({ state: 'ok', value: 21.5 }), { timeout: 60_000 });
    expect(plugin.readings().tank_level).toMatchObject({ state: 'ok', value: 51.2 });
    await vi.waitFor(async () => expect(await store.latest('sensor.power')).toMatchObject({ value: 48.2, source: 'opcua/line1' }), { timeout: 60_000 });
    expect(existsSync(join(pki, 'own', 'certs', 'client_certificate.pem'))).toBe(true);
    expect(published.some((p) => p.topic === 'sensors/power' && p.payload.value === 48.2 && p.payload.state === 'ok')).toBe(true);
    expect(devices().line1!.namespaces[URI]).toBe(server.namespaceIndex);
  });

  it('names a node that does not exist and a value of the wrong type, while the other points keep coming', async () => {
    await vi.waitFor(() => expect(plugin.readings().ghost).toMatchObject({ state: 'failed', code: 'node_missing' }), { timeout: 60_000 });
    await vi.waitFor(() => expect(plugin.readings().label).toMatchObject({ state: 'failed', code: 'wrong_type', error: expect.stringContaining('String') }), { timeout: 60_000 });
    expect(devices().line1).toMatchObject({ state: 'degraded', message: expect.stringContaining('ghost (node_missing') });
    server.set(1001, 50.5);
    await vi.waitFor(() => expect(plugin.readings().power!.value).toBe(50.5), { timeout: 60_000 });
  });

  it('lets the server hold back changes inside the deadband (DataChangeFilter) and reports those beyond it', async () => {
    server.set('Floor.Temp', 21.7);
    // The counter has no deadband: two of its changes seen after the set mean the temperature was sampled since.
    for (const n of [2, 3]) {
      server.set('Floor.Counter', n);
      await vi.waitFor(() => expect(plugin.readings().counter!.value).toBe(n), { timeout: 60_000 });
    }
    expect(plugin.readings().floor_temp!.value).toBe(21.5);
    server.set('Floor.Temp', 22.2);
    await vi.waitFor(() => expect(plugin.readings().floor_temp!.value).toBe(22.2), { timeout: 60_000 });
    expect(published.filter((p) => p.topic === 'sensors/floor_temp' && p.payload.value === 21.7)).toHaveLength(0);
  });

  it('marks a point whose variable answers with a bad status code, retained as failed, and recovers', async () => {
    server.setStatus('Floor.Temp', 'BadSensorFailure');
    await vi.waitFor(() => expect(plugin.readings().floor_temp).toMatchObject({ state: 'failed', code: 'bad_status', error: expect.stringContaining('BadSensorFailure') }), { timeout: 60_000 });
    expect(published.some((p) => p.topic === 'sensors/floor_temp' && p.payload.state === 'failed')).toBe(true);
    expect(plugin.readings().power!.state).toBe('ok');
    server.setStatus('Floor.Temp', null);
    await vi.waitFor(() => expect(plugin.readings().floor_temp).toMatchObject({ state: 'ok', value: 22.2 }), { timeout: 60_000 });
  });

  it('names a node that disappears after a PLC download, while the other points keep coming', async () => {
    await vi.waitFor(() => expect(plugin.readings().tank_level!.state).toBe('ok'), { timeout: 60_000 });
    server.remove('Tank.Level');
    await vi.waitFor(() => expect(plugin.readings().tank_level).toMatchObject({ state: 'failed', code: 'node_missing' }), { timeout: 60_000 });
    server.set(1001, 49.5);
    await vi.waitFor(() => expect(plugin.readings().power).toMatchObject({ state: 'ok', value: 49.5 }), { timeout: 60_000 });
  });

  it('renews the secure channel without losing the subscription', async () => {
    const sessions = devices().line1!.sessions;
    await vi.waitFor(() => expect(devices().line1!.secure_channel_renewals).toBeGreaterThanOrEqual(1), { timeout: 60_000 });
    server.set(1001, 51);
    await vi.waitFor(() => expect(plugin.readings().power!.value).toBe(51), { timeout: 60_000 });
    expect(devices().line1!.sessions).toBe(sessions);
  });

  it('names a session the server timed out (node-opcua drops the connection with it), and goes on with a fresh one', async () => {
    const sessions = devices().line1!.sessions;
    expect(server.expireSessions()).toBeGreaterThanOrEqual(1);
    await vi.waitFor(() => expect(devices().line1!.sessions).toBeGreaterThan(sessions), { timeout: 60_000 });
    expect(devices().line1!.last_fault!.code).toMatch(/session_timeout|session_closed|connection_lost/);
    server.set(1001, 52);
    await vi.waitFor(() => expect(plugin.readings().power).toMatchObject({ state: 'ok', value: 52 }), { timeout: 60_000 });
  });

  it('refuses a server whose certificate is not trusted, says where it is, and connects once it is trusted; the other device is unaffected', async () => {
    await vi.waitFor(() => expect(devices().stranger).toMatchObject({ state: 'failed', code: 'certificate_untrusted', message: expect.stringContaining(join(pki, 'rejected')) }), { timeout: 60_000 });
    expect(plugin.readings().stranger_temp!.state).toBe('failed');
    expect(plugin.readings().power!.state).toBe('ok');
    const rejected = readdirSync(join(pki, 'rejected'));
    expect(rejected).toHaveLength(1);
    renameSync(join(pki, 'rejected', rejected[0]!), join(pki, 'trusted', 'certs', rejected[0]!));
    await vi.waitFor(() => expect(plugin.readings().stranger_temp).toMatchObject({ state: 'ok', value: 30 }), { timeout: 60_000 });
  });

  it('refuses the same server once its certificate changed, until the new one is trusted', async () => {
    await stranger.stop();
    stranger = new TestOpcuaServer({ ...stranger.options, pkiDir: join(dir, 'stranger-new-cert') });
    await stranger.start();
    await vi.waitFor(() => expect(devices().stranger).toMatchObject({ state: 'failed', code: 'certificate_changed', message: expect.stringMatching(/certificate changed \(was [0-9a-f]{40}, now [0-9a-f]{40}\) and is refused until trusted/) }), { timeout: 60_000 });
    expect(plugin.readings().stranger_temp!.state).toBe('failed');
  });

  it('survives a server restart mid-subscription that renumbers its namespaces, and never reads the variable now at the old index', async () => {
    const before = server.namespaceIndex;
    await server.stop();
    await vi.waitFor(() => expect(devices().line1).toMatchObject({ state: 'failed', code: expect.stringMatching(/connection_lost|session_timeout|session_closed|unreachable/) }), { timeout: 60_000 });
    expect(plugin.readings().power!.state).toBe('failed');
    // After the "PLC download" another namespace sits at our old index and holds variables with the same identifiers.
    server = new TestOpcuaServer({ ...server.options, before: ['urn:choco-edge:test:other', 'urn:choco-edge:test:third'], decoyValue: 99 });
    server.set(1001, 47.5);
    await server.start();
    expect(server.namespaceIndex).not.toBe(before);
    await vi.waitFor(() => expect(plugin.readings().power).toMatchObject({ state: 'ok', value: 47.5 }), { timeout: 60_000 });
    expect(plugin.readings().floor_temp!.value).not.toBe(99);
    expect(devices().line1).toMatchObject({ namespace_changes: 1, namespaces: { [URI]: server.namespaceIndex } });
    expect(devices().line1!.sessions).toBeGreaterThanOrEqual(2);
    expect(published.some((p) => p.topic === 'sensors/power' && p.payload.value === 99)).toBe(false);
  }, 60_000);
});
