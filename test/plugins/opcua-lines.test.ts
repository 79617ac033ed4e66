import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventBus, type BusEvents } from '../../gateway/core/event-bus.js';
import { SystemClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { createOpcuaLines, type OpcuaLinesPlugin } from '../../plugins/opcua-lines/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { TestOpcuaServer } from '../helpers/opcua-server.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

const H = 3_600_000;
const URI = 'urn:choco-edge:test:lines';
const nodes = (prefix: string) => ({ command: `nsu=${URI};s=${prefix}.Command`, powerSetpoint: `nsu=${URI};s=${prefix}.PowerSetpoint`, validUntil: `nsu=${URI};s=${prefix}.ValidUntil`, heartbeat: `nsu=${URI};s=${prefix}.Heartbeat` });

/** Line commands over OPC UA against a real node-opcua server (security None, configured explicitly for this test PLC). */
describe('OPC UA line commands against a real node-opcua server standing in for the PLC', () => {
  let server: TestOpcuaServer;
  let store: SeriesStore;
  let bus: EventBus;
  let plugin: OpcuaLinesPlugin;
  const alerts: Array<BusEvents['alert']> = [];
  const writer = (line: string) => plugin.writers()[line]!;
  const state = (line: string) => (plugin.health().details as Record<string, { state: string; code: string | null }>)[line]!;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-opcua-lines-'));
    const w = { writable: true };
    server = new TestOpcuaServer({
      port: await freePort(),
      pkiDir: join(dir, 'plc'),
      namespaceUri: URI,
      method: true,
      variables: [
        { id: 'Conching.Command', dataType: 'UInt16', value: 0, ...w },
        { id: 'Conching.PowerSetpoint', dataType: 'Double', value: 0, ...w },
        { id: 'Conching.ValidUntil', dataType: 'DateTime', value: new Date(0), ...w },
        { id: 'Conching.Heartbeat', dataType: 'UInt16', value: 0, ...w },
        { id: 'Line.Command', dataType: 'UInt16', value: 0, ...w },
        { id: 'Line.PowerSetpoint', dataType: 'Double', value: 0, ...w },
        { id: 'Line.ValidUntil', dataType: 'UInt32', value: 0, ...w },
        { id: 'Line.Heartbeat', dataType: 'UInt16', value: 0, ...w },
        { id: 'Refining.Command', dataType: 'UInt16', value: 0 },
        { id: 'Refining.PowerSetpoint', dataType: 'Double', value: 0, ...w },
        { id: 'Refining.ValidUntil', dataType: 'DateTime', value: new Date(0), ...w },
        { id: 'Refining.Heartbeat', dataType: 'UInt16', value: 0, ...w },
        { id: 'Mixing.Command', dataType: 'UInt16', value: 0, ...w, ignoreWrites: true },
        { id: 'Mixing.PowerSetpoint', dataType: 'Double', value: 0, ...w },
        { id: 'Mixing.ValidUntil', dataType: 'DateTime', value: new Date(0), ...w },
        { id: 'Mixing.Heartbeat', dataType: 'UInt16', value: 0, ...w },
      ],
    });
    await server.start();
    const common = { endpointUrl: server.endpointUrl, security: 'None', watchdogMs: 100, maxBackoffMs: 400, requestTimeoutMs: 2000 };
    const config = testConfig('http://127.0.0.1:9', {
      opcua: {
        pkiDir: join(dir, 'client-pki'),
        lines: [
          { line: 'conching', ...common, nodes: nodes('Conching') },
          { line: 'tempering', ...common, nodes: nodes('Line'), method: { objectId: `nsu=${URI};s=Line`, methodId: `nsu=${URI};s=Line.SetCommand` } },
          { line: 'refining', ...common, nodes: nodes('Refining') },
          { line: 'mixing', ...common, nodes: nodes('Mixing') },
        ],
      },
    });
    store = await SeriesStore.open(join(config.dataDir, 'store'));
    const clock = new SystemClock();
    bus = new EventBus();
    bus.on('alert', 'test', (a) => alerts.push(a));
    plugin = createOpcuaLines({ config, clock, log: silent, bus, store, fetcher: new Fetcher(clock, config.fetch), mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 't', clientId: 't', reconnectMs: 1000 }, clock, silent), mqttUrl: 'mqtt://127.0.0.1:1', mqttCredentials: {}, catalog: () => [] });
    await plugin.start();
  }, 60_000);

  afterAll(async () => {
    await plugin?.stop();
    await server?.stop();
    await store?.close();
  });

  it('writes what the plan says to typed PLC variables, verified by read-back, and the heartbeat advances as a watchdog', async () => {
    const now = Date.now();
    bus.emit('plan.updated', { version: 1, planId: 'p#1', doc: planDocument(now, [lineRun('conching', now - H, now + 4 * H, 48), lineRun('tempering', now - H, now + 2 * H, 36), lineRun('mixing', now - H, now + H, 20)]) });
    await vi.waitFor(() => expect(server.get('Conching.Command')).toBe(1), { timeout: 60_000 });
    expect(server.get('Conching.PowerSetpoint')).toBe(48);
    expect(Math.floor((server.get('Conching.ValidUntil') as Date).getTime() / 1000)).toBe(Math.floor((now + 4 * H) / 1000));
    const hb = server.get('Conching.Heartbeat') as number;
    await vi.waitFor(() => expect(server.get('Conching.Heartbeat') as number).toBeGreaterThanOrEqual(hb + 3), { timeout: 60_000 });
    expect(writer('conching')).toMatchObject({ protocol: 'opcua', maxConcurrentCycles: 1, failures: 0, lastWritten: { state: { command: 'run', powerKw: 48 } } });
    expect(writer('conching').writes).toBeGreaterThanOrEqual(3);
    expect(state('conching').state).toBe('ok');
    // Plans arriving faster than a cycle: never two write cycles at once on one line.
    for (let i = 0; i < 20; i++) bus.emit('plan.updated', { version: 2 + i, planId: `p#${2 + i}`, doc: planDocument(now, [lineRun('conching', now - H, now + 4 * H, 48), lineRun('tempering', now - H, now + 2 * H, 36), lineRun('mixing', now - H, now + H, 20)]) });
    const after = writer('conching').writes;
    await vi.waitFor(() => expect(writer('conching').writes).toBeGreaterThan(after + 1), { timeout: 60_000 });
    expect(writer('conching').maxConcurrentCycles).toBe(1);
  });

  it('calls the PLC method where the line offers one, and reads the variables back', async () => {
    await vi.waitFor(() => expect(server.get('Line.Command')).toBe(1), { timeout: 60_000 });
    expect(server.methodCalls).toBeGreaterThanOrEqual(1);
    expect(server.get('Line.PowerSetpoint')).toBe(36);
    await vi.waitFor(() => expect(writer('tempering').writes).toBeGreaterThanOrEqual(2), { timeout: 60_000 });
    expect(state('tempering').state).toBe('ok');
    const hb = server.get('Line.Heartbeat') as number;
    await vi.waitFor(() => expect(server.get('Line.Heartbeat') as number).toBeGreaterThan(hb), { timeout: 60_000 });
  });

  it('names a refused write (read-only variable) and a read-back that differs, raises PLC_WRITE_FAILED, and the other lines go on', async () => {
    await vi.waitFor(() => expect(state('refining')).toMatchObject({ state: 'failed', code: 'write_refused' }), { timeout: 60_000 });
    expect(plugin.health().message).toMatch(/refining: line refining: write failed \(line refining: command nsu=urn:choco-edge:test:lines;s=Refining.Command answered BadNotWritable/);
    await vi.waitFor(() => expect(state('mixing')).toMatchObject({ state: 'failed', code: 'readback_mismatch' }), { timeout: 60_000 });
    expect(plugin.health().message).toMatch(/mixing: line mixing: write failed \(line mixing: read-back of command nsu=urn:choco-edge:test:lines;s=Mixing.Command gave 0, wrote 1\)/);
    expect(alerts.some((a) => a.code === 'PLC_WRITE_FAILED')).toBe(true);
    const writes = writer('conching').writes;
    await vi.waitFor(() => expect(writer('conching').writes).toBeGreaterThan(writes), { timeout: 60_000 });
  });

  it('names a PLC restart, then writes again on a fresh session', async () => {
    await server.stop();
    await vi.waitFor(() => expect(state('conching')).toMatchObject({ state: expect.stringMatching(/degraded|failed/), code: expect.stringMatching(/connection_lost|session_timeout|session_closed|unreachable|timeout/) }), { timeout: 60_000 });
    server.set('Conching.Command', 0);
    const sessions = writer('conching').sessions;
    await server.start();
    await vi.waitFor(() => expect(server.get('Conching.Command')).toBe(1), { timeout: 60_000 });
    await vi.waitFor(() => expect(state('conching').state).toBe('ok'), { timeout: 60_000 });
    expect(writer('conching').sessions).toBeGreaterThan(sessions);
  }, 60_000);
});
