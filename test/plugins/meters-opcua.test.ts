import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, BusEvents } from '../../gateway/core/event-bus.js';
import { loadConfig, redactConfig } from '../../gateway/config/load.js';
import { resolveNodeProfile } from '../../gateway/meters/profile.js';
import { readMeterQuarterHours } from '../../gateway/meters/quarter-hours.js';
import { parse as parseYaml } from 'yaml';
import type { MeterReading } from '../../gateway/meters/reading.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { realClock, type Clock } from '../../gateway/time/clock.js';
import { createMeters, type MetersPlugin } from '../../plugins/meters/index.js';
import { realTimePluginContext, testConfig } from '../helpers/context.js';
import { freePort } from '../helpers/mosquitto.js';
import { TestOpcuaServer } from '../helpers/opcua-server.js';

/**
 * Energy meters whose profile names OPC UA variables instead of registers, read from a real node-opcua server in
 * this process (free port, its PKI in a temp directory; Basic256Sha256 SignAndEncrypt with a user login whose
 * password comes from a file). The server registers another namespace first, holding decoy variables with the same
 * identifiers and value 99: a meter that read by namespace index instead of URI would read them.
 */

const URI = 'urn:choco-edge:test:energy-plc';
const PASSWORD = 'm3ter-Pa55-from-file';
const dir = mkdtempSync(join(tmpdir(), 'choco-meters-opcua-'));
const pki = join(dir, 'client-pki');
const passwordFile = join(dir, 'plc-password');
writeFileSync(passwordFile, `${PASSWORD}\n`);
let server: TestOpcuaServer;

beforeAll(async () => {
  server = new TestOpcuaServer({
    port: await freePort(),
    pkiDir: join(dir, 'plc'),
    namespaceUri: URI,
    before: ['urn:choco-edge:test:other-program'],
    decoyValue: 99,
    secure: true,
    users: [{ username: 'choco-edge', password: PASSWORD }],
    variables: [
      // A PLC energy block: import energy in Wh (UInt32), power in W (Double, numeric id), reactive energy in kvarh (Float).
      { id: 'Site.ImportWh', dataType: 'UInt32', value: 45_678_900 },
      { id: 2001, dataType: 'Double', value: 123_400 },
      { id: 'Site.ImportKvarh', dataType: 'Double', value: 1_234.5 },
      { id: 'Conche.Kwh', dataType: 'Double', value: 20_000 },
      { id: 'Conche.Kw', dataType: 'Double', value: 200 },
      { id: 'Mixer.Kwh', dataType: 'Double', value: 5_000 },
      { id: 'Mixer.Kw', dataType: 'Double', value: 100 },
      { id: 'Temper.Kwh', dataType: 'Double', value: 800 },
      { id: 'Temper.Kw', dataType: 'Double', value: 36 },
      { id: 'Temper.Label', dataType: 'String', value: 'UMG 96-PA' },
    ],
  });
  await server.start();
  server.trustIn(pki);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function until<T>(what: string, get: () => T | undefined | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const node = (id: string | number, unit: 'kWh' | 'kW' | 'kvarh', scale?: number) => ({ nodeId: `nsu=${URI};${typeof id === 'number' ? `i=${id}` : `s=${id}`}`, unit, ...(scale !== undefined ? { scale } : {}) });

/** The meter config as a user writes it: transport opcua, the server as opcua.devices give it, the password from a file. */
const uaMeter = (name: string, profile: string, extra: Record<string, unknown> = {}) => Object.fromEntries(Object.entries({
  name,
  role: 'line',
  line: name,
  profile,
  transport: 'opcua',
  pollMs: 200,
  opcua: { endpointUrl: server.endpointUrl, security: 'SignAndEncrypt', requestTimeoutMs: 2000, auth: { type: 'user', username: 'choco-edge', password: { file: passwordFile } } },
  ...extra,
}).filter(([, v]) => v !== undefined));

const profiles = {
  'plc-site': { model: 'site energy block in the plant PLC', sources: ['our PLC program, DB Energy'], nodes: { importKwh: node('Site.ImportWh', 'kWh', 0.001), kw: node(2001, 'kW', 0.001), importKvarh: node('Site.ImportKvarh', 'kvarh') } },
  'plc-conche': { model: 'conche energy block', nodes: { importKwh: node('Conche.Kwh', 'kWh'), kw: node('Conche.Kw', 'kW') } },
  'plc-mixer': { model: 'mixer energy block', nodes: { importKwh: node('Mixer.Kwh', 'kWh'), kw: node('Mixer.Kw', 'kW') } },
  'plc-temper': { model: 'tempering energy block', nodes: { importKwh: node('Temper.Kwh', 'kWh'), kw: node('Temper.Kw', 'kW') } },
  'plc-temper-label': { model: 'a profile pointing power at a String', nodes: { importKwh: node('Temper.Kwh', 'kWh'), kw: node('Temper.Label', 'kW') } },
};

type MeterDetails = { state: string; code?: string; message: string; transport: string; sessions: number; faults: Record<string, number>; frozen: boolean; last: MeterReading | null };

async function start(meters: unknown[], options: { clock?: Clock; energy?: Record<string, unknown> } = {}) {
  const config = testConfig('http://127.0.0.1:1', { opcua: { pkiDir: pki }, energy: { meters, meterProfiles: profiles, ...options.energy } });
  const store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-meters-opcua-store-')));
  const ctx = realTimePluginContext(config, store);
  if (options.clock) ctx.clock = options.clock;
  const readings: MeterReading[] = [];
  const alerts: Alert[] = [];
  const quarterHours: Array<BusEvents['meter.quarterHour']> = [];
  const published: Array<{ topic: string; payload: Record<string, unknown>; retain: boolean }> = [];
  ctx.bus.on('meter.reading', 'test', (r) => readings.push(r));
  ctx.bus.on('alert', 'test', (a) => alerts.push(a));
  ctx.bus.on('meter.quarterHour', 'test', (q) => quarterHours.push(q));
  ctx.mqtt.publish = (async (topic: string, payload: Record<string, unknown>, opts?: { retain?: boolean }) => {
    published.push({ topic, payload, retain: Boolean(opts?.retain) });
  }) as unknown as typeof ctx.mqtt.publish;
  const plugin: MetersPlugin = createMeters(ctx, realClock);
  await plugin.start();
  cleanups.push(() => store.close());
  cleanups.push(() => plugin.stop());
  const details = () => plugin.health().details!.meters as Record<string, MeterDetails>;
  return { plugin, ctx, store, readings, alerts, quarterHours, published, details, config };
}

describe('energy meters over OPC UA (a real node-opcua server, SignAndEncrypt, password from a file)', () => {
  it('reads import energy, power and reactive energy by namespace URI, with each node\'s scale, and publishes meters/<meter>', async () => {
    const { plugin, details, published, readings, config } = await start([uaMeter('site-main', 'plc-site', { role: 'site', line: undefined })]);
    const r = await until('a good reading', () => plugin.readings()['site-main']?.quality === 'good' && plugin.readings()['site-main']);
    // 45 678 900 Wh × 0.001 and 123 400 W × 0.001: the decoys (99) at the same identifiers in the other namespace never read.
    expect(r).toMatchObject({ meter: 'site-main', role: 'site', importKwh: 45_678.9, kw: 123.4, importKvarh: 1_234.5, quality: 'good', provenance: 'measured' });
    expect(readings.some((x) => x.kw === 99 || x.importKwh === 0.099)).toBe(false);
    expect(details()['site-main']).toMatchObject({ state: 'ok', transport: 'opcua', sessions: 1 });
    const mqtt = await until('meters/site-main', () => published.find((p) => p.topic === 'meters/site-main' && p.payload.quality === 'good'));
    expect(mqtt.retain).toBe(true);
    expect(mqtt.payload).toMatchObject({ meter: 'site-main', kw: 123.4, import_kwh: 45_678.9, import_kvarh: 1_234.5, fault: null });
    // The password was read from its file, is used for the login, and appears nowhere in health or the printed config.
    expect(config.energy.meters[0]!.opcua!.auth.password).toBe(PASSWORD);
    expect(JSON.stringify(plugin.health())).not.toContain(PASSWORD);
    expect(JSON.stringify(redactConfig(config))).not.toContain(PASSWORD);
    // Still one session after many polls: the counter is read by Read on the open session, not by a session per poll.
    await until('five polls', () => readings.length >= 5);
    expect(details()['site-main']!.sessions).toBe(1);
  });

  it('cuts local quarter-hours from the OPC UA counter as from a Modbus one: measured kWh, average kW, stored', async () => {
    let now = Date.UTC(2025, 0, 15, 7, 55);
    const clock: Clock = { now: () => now, setTimeout: realClock.setTimeout.bind(realClock), sleep: realClock.sleep.bind(realClock) };
    let kwh = 20_000;
    server.set('Conche.Kwh', kwh);
    const { ctx, quarterHours, readings } = await start([uaMeter('conching', 'plc-conche', { gapSeconds: 400 })], { clock });
    // Gateway time moves 150 s per poll and the PLC's counter with it: exactly 200 kW.
    ctx.bus.on('meter.reading', 'clock', () => {
      now += 150_000;
      kwh += (200 * 150_000) / 3_600_000;
      server.set('Conche.Kwh', kwh);
    });
    await until('two closed quarter-hours', () => quarterHours.length >= 2);
    const stored = await readMeterQuarterHours(ctx.store, 'conching', Date.UTC(2025, 0, 15, 7, 45), Date.UTC(2025, 0, 15, 9));
    // (A stored row of a meter without reactive energy reads back with kvarh null: the store's row format, as for Modbus.)
    expect(stored.slice(0, 2).map(({ kvarh: _kvarh, ...q }) => q)).toEqual(quarterHours.slice(0, 2));
    expect(stored[0]).toMatchObject({ start: Date.UTC(2025, 0, 15, 7, 45), quality: 'missing', kwh: null });
    expect(stored[1]).toMatchObject({ meter: 'conching', line: 'conching', start: Date.UTC(2025, 0, 15, 8, 0), quality: 'measured' });
    expect(stored[1]!.kwh).toBeCloseTo(50, 3);
    expect(stored[1]!.avgKw).toBeCloseTo(200, 2);
    expect(readings.every((r) => r.quality !== 'failed')).toBe(true);
  });

  it('a frozen meter and a counter reset, found through OPC UA and named in alerts and health', async () => {
    let kwh = 5_000;
    server.set('Mixer.Kwh', kwh);
    server.set('Mixer.Kw', 100);
    let live = true;
    const tick = setInterval(() => {
      if (!live) return;
      kwh += 0.002; // 144 kW on the wall clock; the power variable reads 100 kW
      server.set('Mixer.Kwh', Math.round(kwh * 1000) / 1000);
    }, 50);
    cleanups.push(async () => clearInterval(tick));
    const { alerts, readings, details } = await start([uaMeter('mixing', 'plc-mixer', { frozenPolls: 4, maxKw: 1_000 })]);
    await until('good readings', () => readings.filter((r) => r.quality === 'good').length >= 3);
    // The PLC's energy block stops updating while the power still reads 100 kW: every value identical for 4 polls.
    live = false;
    const frozen = await until('METER_FROZEN', () => alerts.find((a) => a.code === 'METER_FROZEN'));
    expect(frozen.message).toMatch(/^meter mixing: frozen: the import counter stays at 50\d\d(\.\d+)? kWh/);
    expect(readings.at(-1)).toMatchObject({ quality: 'suspect', fault: 'frozen' });
    expect(details().mixing).toMatchObject({ state: 'degraded', code: 'meter_frozen', frozen: true });
    // Then the counter is cleared (meter replaced, PLC block reinitialised): a reset, never billed as measured.
    kwh = 0.1;
    server.set('Mixer.Kwh', kwh);
    live = true;
    const reset = await until('METER_RESET', () => alerts.find((a) => a.code === 'METER_RESET'));
    expect(reset.message).toMatch(/^meter mixing: import counter reset from 50\d\d(\.\d+)? to \d+(\.\d+)? kWh/);
    expect(readings.find((r) => r.fault === 'reset')).toMatchObject({ quality: 'suspect' });
    expect(details().mixing!.faults).toMatchObject({ frozen: 1, reset: 1, rollback: 0, jump: 0 });
    expect(readings.some((r) => r.importKwh === 0 || r.kw === 0)).toBe(false);
  });

  it('a bad status code and a value of the wrong type are named faults in health, never a 0 reading; the other meter goes on', async () => {
    server.set('Temper.Kwh', 800);
    const { readings, details, published } = await start([uaMeter('tempering', 'plc-temper'), uaMeter('tempering2', 'plc-temper-label', { line: 'tempering' })]);
    await until('a good reading', () => readings.some((r) => r.meter === 'tempering' && r.quality === 'good'));
    // The power transducer's wire breaks: the PLC answers BadSensorFailure for that variable.
    server.setStatus('Temper.Kw', 'BadSensorFailure');
    const bad = await until('bad_status in health', () => details().tempering?.code === 'bad_status' && details().tempering);
    expect(bad.state).toBe('failed');
    expect(bad.message).toMatch(/meter tempering: active power nsu=urn:choco-edge:test:energy-plc;s=Temper\.Kw: status BadSensorFailure/);
    const failed = readings.filter((r) => r.meter === 'tempering' && r.quality === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((r) => r.kw === null && r.importKwh === null)).toBe(true);
    expect(await until('failed on MQTT', () => published.find((p) => p.topic === 'meters/tempering' && p.payload.quality === 'failed'))).toBeTruthy();
    // The other meter's profile points power at a String variable: wrong_type, named, with no number made up.
    const wrong = await until('wrong_type in health', () => details().tempering2?.code === 'wrong_type' && details().tempering2);
    expect(wrong.message).toMatch(/meter tempering2: active power .*s=Temper\.Label: value of type String, expected a number/);
    expect(readings.filter((r) => r.meter === 'tempering2').every((r) => r.quality === 'failed' && r.kw === null && r.importKwh === null)).toBe(true);
    // The sensor is repaired: good again on the same session (a variable's fault does not drop the session).
    server.setStatus('Temper.Kw', null);
    await until('good again', () => details().tempering?.state === 'ok');
    expect(details().tempering!.sessions).toBe(1);
    expect(readings.some((r) => r.kw === 0 || r.importKwh === 0)).toBe(false);
  });

  it('a PLC restart that renumbers the namespaces: named while away, a fresh session, the right variables again, the downtime a bridged gap', async () => {
    let wh = 45_678_900;
    server.set('Site.ImportWh', wh);
    const tick = setInterval(() => server.set('Site.ImportWh', (wh += 2)), 50); // 144 kW on the wall clock
    cleanups.push(async () => clearInterval(tick));
    const { readings, details, alerts } = await start([uaMeter('site-main', 'plc-site', { role: 'site', line: undefined, maxKw: 1_000, gapSeconds: 1, maxBackoffMs: 400 })]);
    await until('good readings', () => readings.filter((r) => r.quality === 'good').length >= 3);
    const before = server.namespaceIndex;
    await server.stop();
    // Lost, then each reopen refused while the server is down: named unreachable (not a security mismatch: node-opcua
    // fails such a connect "in findEndpoint", which session.ts once took for a missing secure endpoint).
    const away = await until('the meter named unreachable', () => details()['site-main']?.code === 'unreachable' && details()['site-main']);
    expect(away.state).toBe('failed');
    expect(away.message).toMatch(/^meter site-main: cannot connect to opc\.tcp:\/\/127\.0\.0\.1:\d+\/UA\/Test: .*; reconnecting in \d+ ms$/);
    expect(readings.at(-1)).toMatchObject({ quality: 'failed', kw: null, importKwh: null });
    // Away for longer than gapSeconds (1 s) on the meter's own clock, whatever the speed of this box: a condition, not a sleep.
    const lastGood = Math.max(...readings.filter((r) => r.quality === 'good').map((r) => r.at));
    await until('away longer than gapSeconds', () => { const last = readings.at(-1)!; return last.quality === 'failed' && last.at - lastGood > 1_500; });
    // After the "PLC download" another namespace holds decoys (99) at our old index, with the same identifiers.
    server = new TestOpcuaServer({ ...server.options, before: ['urn:choco-edge:test:other-program', 'urn:choco-edge:test:third'], decoyValue: 99 });
    await server.start();
    expect(server.namespaceIndex).not.toBe(before);
    const n = readings.length;
    await until('good again', () => readings.slice(n).filter((r) => r.quality === 'good').length >= 2);
    expect(details()['site-main']!.sessions).toBeGreaterThanOrEqual(2);
    expect(readings.some((r) => r.kw === 0.099 || r.kw === 99)).toBe(false);
    expect(readings.slice(n).find((r) => r.quality === 'good')!.kw).toBe(123.4);
    // The time away was a gap (alert raised, its energy bridged when it is short), never a reset or a jump.
    expect(alerts.some((a) => a.code === 'METER_GAP')).toBe(true);
    expect(alerts.some((a) => /METER_(RESET|ROLLBACK|JUMP)/.test(a.code))).toBe(false);
  }, 90_000);
});

describe('OPC UA meter configuration', () => {
  it('refuses a meter whose transport and profile do not match, and a Modbus profile for an OPC UA meter, one sentence each', () => {
    const problems = (overrides: Record<string, unknown>): string[] => {
      try {
        loadConfig({ env: {}, overrides });
        return [];
      } catch (error) {
        return (error as { problems: string[] }).problems;
      }
    };
    const endpoint = { endpointUrl: 'opc.tcp://192.168.10.20:4840' };
    expect(problems({ energy: { meters: [{ name: 'm', role: 'site', profile: 'eastron-sdm630', transport: 'opcua', opcua: endpoint }] } })).toEqual([expect.stringMatching(/^\/energy\/meters\/0\/profile: the shipped profile eastron-sdm630 is a Modbus register map/)]);
    expect(problems({ energy: { meters: [{ name: 'm', role: 'site', profile: 'plc-conche', transport: 'tcp', host: 'x' }], meterProfiles: { 'plc-conche': profiles['plc-conche'] } } })).toEqual([expect.stringMatching(/^\/energy\/meters\/0\/profile: profile plc-conche names OPC UA nodes, not registers/)]);
    expect(problems({ energy: { meters: [{ name: 'm', role: 'site', profile: 'plc-conche', transport: 'opcua' }], meterProfiles: { 'plc-conche': profiles['plc-conche'] } } })).toEqual([expect.stringMatching(/^\/energy\/meters\/0\/opcua: an OPC UA meter needs its server/)]);
    // A namespace index is refused: a PLC download can renumber the namespaces.
    expect(problems({ energy: { meters: [{ name: 'm', role: 'site', profile: 'p', transport: 'opcua', opcua: endpoint }], meterProfiles: { p: { model: 'x', nodes: { importKwh: { nodeId: 'ns=3;s=Energy', unit: 'kWh' }, kw: node('Kw', 'kW') } } } } }).join(' ')).toMatch(/\/energy\/meterProfiles\/p\/nodes\/importKwh\/nodeId/);
    // A missing password file stops the start, before anything opens.
    expect(problems({ energy: { meters: [{ name: 'm', role: 'site', profile: 'plc-conche', transport: 'opcua', opcua: { ...endpoint, auth: { type: 'user', username: 'u', password: { file: join(dir, 'absent') } } } }], meterProfiles: { 'plc-conche': profiles['plc-conche'] } } })).toEqual([expect.stringMatching(/^\/energy\/meters\/0\/opcua\/auth\/password: secret file .* does not exist/)]);
  });

  it('README "Meters over OPC UA": its example loads as written (with the password file present) and names its nodes by URI', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('### Meters over OPC UA');
    expect(start).toBeGreaterThan(readme.indexOf('### Connecting a meter'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(readme.slice(start))![1]!.replace('/run/credentials/choco-edge.service/plc-password', passwordFile);
    const config = loadConfig({ env: {}, overrides: parseYaml(yaml) as Record<string, unknown> });
    expect(config.energy.meters[0]).toMatchObject({ name: 'conching', transport: 'opcua', opcua: { endpointUrl: 'opc.tcp://192.168.10.20:4840', security: 'SignAndEncrypt', auth: { password: PASSWORD } } });
    const profile = resolveNodeProfile('plc-energy', config.energy.meterProfiles);
    expect(profile.nodes.importKwh).toMatchObject({ nodeId: 'nsu=http://plant.example/S7-1500/Energy;s=Conche.ImportWh', scale: 0.001, unit: 'kWh' });
    expect(profile.nodes.importKvarh!.scale).toBe(1);
  });

  it('node-opcua stays unloaded until an OPC UA meter opens its session (a child process records every module resolved)', () => {
    const script = fileURLToPath(new URL('../meters/opcua-lazy.mjs', import.meta.url));
    const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', script, mkdtempSync(join(tmpdir(), 'choco-lazy-'))], { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8', timeout: 60_000 })) as { createMeters: string; atImport: string[]; afterOpen: string[]; fault: string };
    expect(out.createMeters).toBe('function');
    // Loading the meters plugin (and every built-in plugin) resolves no node-opcua module ...
    expect(out.atImport).toEqual([]);
    // ... the first OPC UA meter session does (then fails: nothing listens on port 9).
    expect(out.afterOpen).toContain('node-opcua-client');
    expect(out.fault).toBe('unreachable');
  }, 70_000);
});
