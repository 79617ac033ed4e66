import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../gateway/core/event-bus.js';
import { OutputMode, dryRunLines } from '../../gateway/core/output-mode.js';
import { SystemClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import { createOpcuaLines, type OpcuaLinesPlugin } from '../../plugins/opcua-lines/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { TestOpcuaServer } from '../helpers/opcua-server.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

const H = 3_600_000;
const URI = 'urn:choco-edge:test:dry-lines';
const nodes = (prefix: string) => ({ command: `nsu=${URI};s=${prefix}.Command`, powerSetpoint: `nsu=${URI};s=${prefix}.PowerSetpoint`, validUntil: `nsu=${URI};s=${prefix}.ValidUntil`, heartbeat: `nsu=${URI};s=${prefix}.Heartbeat` });
const ROLES = ['Command', 'PowerSetpoint', 'ValidUntil', 'Heartbeat'];

/**
 * The write-nothing mode (outputs.dryRun) on the OPC UA line output, against a real node-opcua server standing in for
 * the PLC that counts every Write and every method Call it receives: while the mode is on it receives none (only
 * reads), and once it is switched off the plan is written at once; a line configured with `dryRun` stays untouched.
 */
describe('OPC UA lines follow the write-nothing mode (outputs.dryRun, opcua.lines[].dryRun)', () => {
  let server: TestOpcuaServer;
  let bus: EventBus;
  let outputs: OutputMode;
  let plugin: OpcuaLinesPlugin;
  let refiningKw = 0;
  const writer = (line: string) => plugin.writers()[line]!;
  const writesTo = (prefix: string) => ROLES.reduce((n, r) => n + (server.writesOf.get(`${prefix}.${r}`) ?? 0), 0);

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-opcua-dry-'));
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
        { id: 'Refining.Command', dataType: 'UInt16', value: 0, ...w },
        { id: 'Refining.PowerSetpoint', dataType: 'Double', value: 0, ...w },
        { id: 'Refining.ValidUntil', dataType: 'DateTime', value: new Date(0), ...w },
        { id: 'Refining.Heartbeat', dataType: 'UInt16', value: 0, ...w },
      ],
    });
    await server.start();
    const common = { endpointUrl: server.endpointUrl, security: 'None', watchdogMs: 100, maxBackoffMs: 400, requestTimeoutMs: 2000 };
    const config = testConfig('http://127.0.0.1:9', {
      outputs: { dryRun: true },
      opcua: {
        pkiDir: join(dir, 'client-pki'),
        lines: [
          { line: 'conching', ...common, nodes: nodes('Conching') },
          { line: 'tempering', ...common, nodes: nodes('Line'), method: { objectId: `nsu=${URI};s=Line`, methodId: `nsu=${URI};s=Line.SetCommand` } },
          // Commissioned on its own: stays in the mode when the global one goes off.
          { line: 'refining', ...common, nodes: nodes('Refining'), dryRun: true },
        ],
      },
    });
    expect(dryRunLines(config)).toEqual(['refining']);
    // The setpoint written is the process's power from the planner's configuration.
    refiningKw = config.planner.processes.find((p) => p.line === 'refining')!.kw;
    const clock = new SystemClock();
    bus = new EventBus();
    outputs = new OutputMode({ dryRun: true, dryRunLines: dryRunLines(config), clock, bus });
    await outputs.start();
    plugin = createOpcuaLines({ config, clock, log: silent, bus, store: undefined as never, outputs, fetcher: new Fetcher(clock, config.fetch), mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 't', clientId: 't', reconnectMs: 1000 }, clock, silent), mqttUrl: 'mqtt://127.0.0.1:1', mqttCredentials: {}, catalog: () => [] });
    await plugin.start();
  }, 60_000);

  afterAll(async () => {
    await plugin?.stop();
    await server?.stop();
  });

  it('writes and calls nothing while the mode is on: it reads the variables and shows what it would write', async () => {
    const now = Date.now();
    bus.emit('plan.updated', { version: 1, planId: 'p#1', doc: planDocument(now, [lineRun('conching', now - H, now + 4 * H, 48), lineRun('tempering', now - H, now + 2 * H, 36), lineRun('refining', now - H, now + 3 * H, refiningKw)]) });
    await vi.waitFor(() => {
      for (const line of ['conching', 'tempering', 'refining']) expect(writer(line).dryCycles).toBeGreaterThanOrEqual(5);
    }, { timeout: 30_000 });
    expect(server.writes).toBe(0);
    expect(server.methodCalls).toBe(0);
    expect(server.get('Conching.Command')).toBe(0);
    for (const line of ['conching', 'tempering', 'refining']) expect(writer(line)).toMatchObject({ writes: 0, failures: 0, lastWritten: null });
    expect(plugin.health().state).toBe('ok');
    expect(plugin.health().message).toMatch(/conching: dry run: would write run 48 kW until .*PLC holds command=0, .*nothing written/);
    expect(plugin.health().message).toMatch(/tempering: dry run: would call run 36 kW/);
    const shown = outputs.wouldWrites().filter((x) => x.via === 'opcua');
    expect(shown.map((x) => x.target).sort()).toEqual([`line conching (${server.endpointUrl})`, `line refining (${server.endpointUrl})`, `line tempering (${server.endpointUrl})`]);
    const conching = shown.find((x) => x.target.startsWith('line conching'))!;
    expect(conching.values).toEqual({
      [`command nsu=${URI};s=Conching.Command`]: 1,
      [`powerSetpoint nsu=${URI};s=Conching.PowerSetpoint`]: 48,
      [`validUntil nsu=${URI};s=Conching.ValidUntil`]: new Date(Math.floor((now + 4 * H) / 1000) * 1000).toISOString(),
    });
    // The watchdog cycles are counted up, not recorded as new content (the heartbeat is left out).
    expect(conching.times).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it('switched off, writes the plan at once (variables and method); the line in its own dry run stays untouched', async () => {
    await outputs.set(false, 'test', 'conching and tempering commissioned');
    await vi.waitFor(() => expect(server.get('Conching.Command')).toBe(1), { timeout: 60_000 });
    expect(server.get('Conching.PowerSetpoint')).toBe(48);
    await vi.waitFor(() => expect(server.methodCalls).toBeGreaterThanOrEqual(1), { timeout: 60_000 });
    expect(server.get('Line.PowerSetpoint')).toBe(36);
    await vi.waitFor(() => expect(writer('conching').writes).toBeGreaterThanOrEqual(3), { timeout: 60_000 });
    const dry = writer('refining').dryCycles;
    await vi.waitFor(() => expect(writer('refining').dryCycles).toBeGreaterThan(dry + 2), { timeout: 60_000 });
    expect(writesTo('Refining')).toBe(0);
    expect(server.get('Refining.Command')).toBe(0);
    expect(outputs.wouldWrites().map((x) => x.target)).toEqual([`line refining (${server.endpointUrl})`]);
  }, 30_000);

  it('switched on again, stops writing at once; the per-line switch off writes that line', async () => {
    await outputs.set(true, 'test', 'PLC program download on conching');
    const dry = writer('conching').dryCycles;
    await vi.waitFor(() => expect(writer('conching').dryCycles).toBeGreaterThan(dry), { timeout: 60_000 });
    const writes = server.writes;
    const calls = server.methodCalls;
    await vi.waitFor(() => expect(writer('conching').dryCycles).toBeGreaterThan(dry + 4), { timeout: 60_000 });
    expect(server.writes).toBe(writes);
    expect(server.methodCalls).toBe(calls);
    await outputs.set(false, 'test', 'back to live');
    await outputs.set(false, 'test', 'refining commissioned', 'refining');
    await vi.waitFor(() => expect(server.get('Refining.Command')).toBe(1), { timeout: 60_000 });
    expect(server.get('Refining.PowerSetpoint')).toBe(refiningKw);
  }, 30_000);

  it('takes the run starts the quarter-hour guard moved (power.guard), as the Modbus lines do', async () => {
    const now = Date.now();
    const start = now - 60_000;
    bus.emit('plan.updated', { version: 9, planId: 'p#9', doc: planDocument(now, [lineRun('conching', start, now + 4 * H, 48), lineRun('tempering', now - H, now + 2 * H, 36), lineRun('refining', now - H, now + 3 * H, refiningKw)]) });
    await vi.waitFor(() => expect(writer('conching').lastWritten).toMatchObject({ state: { command: 'run', validUntil: now + 4 * H } }), { timeout: 60_000 });
    // The guard held the start of conching's run by 15 min: the PLC is told idle until then, and the run ends 15 min later.
    bus.emit('power.guard', { shifts: [{ line: 'conching', runStart: start, shiftMs: 15 * 60_000, reason: 'P1 test' }], loadsOff: [], projectedKw: 460, limitKw: 440, period: 1, at: now });
    await vi.waitFor(() => expect(server.get('Conching.Command')).toBe(0), { timeout: 60_000 });
    expect(Math.floor((server.get('Conching.ValidUntil') as Date).getTime() / 1000)).toBe(Math.floor((start + 15 * 60_000) / 1000));
  }, 30_000);
});
