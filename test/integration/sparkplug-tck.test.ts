/**
 * Sparkplug B 3.0 conformance of the gateway as an edge node, checked on what a real Mosquitto delivered.
 *
 * The requirement ids are those of the Eclipse Sparkplug TCK (`Requirements.java` is generated from the
 * `tck-id-…` anchors of the specification, github.com/eclipse-sparkplug/sparkplug, specification/src/main/
 * asciidoc/chapters/Sparkplug_4/5/6_*.adoc). Each id below is one assertion on the decoded payloads (or, for the
 * NCMD subscription, on the broker's own log). The README lists these ids and the ones that do not apply.
 *
 * Scenario: one edge node with four line devices, bdSeq stored at 240 from an earlier run, a plan update every
 * 15 ms, 40 reconnects forced by a session takeover at random moments (mid-birth included), two rebirth requests,
 * one line whose PLC link fails for five reconnects (DDEATH, then the births again when it is back), then an
 * intentional stop. A spy subscribes to spBv1.0/# at QoS 1 with MQTT 5 retain-as-published, so the QoS
 * and retain flag it sees are those the node (or its will) used.
 */
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../gateway/core/event-bus.js';
import { SystemClock } from '../../gateway/time/clock.js';
import { Fetcher } from '../../gateway/util/fetcher.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import type { Plugin } from '../../gateway/core/plugin-api.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { codec, createSparkplug, toNumber } from '../../plugins/sparkplug/index.js';
import { silent, testConfig } from '../helpers/context.js';
import { freePort, Mosquitto } from '../helpers/mosquitto.js';
import { lineRun, planDocument } from '../helpers/plan-document.js';

const GROUP = 'plants';
const NODE = 'linares';
const RECONNECTS = 40;
const CLIENT_ID = `${GROUP}-${NODE}-sparkplug`;

interface Captured {
  i: number;
  topic: string;
  type: string;
  device: string | null;
  qos: number;
  retain: boolean;
  timestamp: number | null;
  seq: number | null;
  metrics: Array<{ name?: string; type: string; value: unknown; timestamp: number | null }>;
  receivedAt: number;
}

/** A node's messages cut into sessions: each starts at an NBIRTH after an NDEATH (or the first), rebirths inside. */
interface SessionView {
  bdSeq: number;
  births: Captured[][];
  messages: Captured[];
  death: Captured | null;
}

const H = 3_600_000;
/** A plan whose conching run ends a minute later with each version, its cost following the version. */
const planDoc = (now: number, version: number) => planDocument(now, [lineRun('conching', now - H, now + H + version * 60_000, 48)], version, { kwh: 10, cost_eur: version / 10 });

describe('Sparkplug B 3.0 TCK requirements for an edge node, on a real Mosquitto with 40 reconnects', () => {
  let broker: Mosquitto;
  let spy: mqtt.MqttClient;
  let store: SeriesStore;
  let plugin: Plugin;
  const captured: Captured[] = [];
  const lines: string[] = [];
  let sessions: SessionView[] = [];
  let startedAt = 0;
  let finishedAt = 0;
  const bus = new EventBus();

  const count = (type: string) => captured.filter((c) => c.type === type).length;

  beforeAll(async () => {
    broker = new Mosquitto(await freePort(), ['allow_anonymous true', 'log_type subscribe', 'log_type error', 'log_type warning']);
    await broker.start();
    const url = `mqtt://127.0.0.1:${broker.port}`;
    spy = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: 'tck-spy' });
    spy.on('message', (topic, payload, packet) => {
      const [, , type, , device] = topic.split('/');
      const p = codec.decodePayload(payload);
      captured.push({
        i: captured.length,
        topic,
        type: type!,
        device: device ?? null,
        qos: packet.qos,
        retain: packet.retain,
        timestamp: p.timestamp === undefined || p.timestamp === null ? null : toNumber(p.timestamp),
        seq: p.seq === undefined || p.seq === null ? null : toNumber(p.seq),
        metrics: (p.metrics ?? []).map((m) => ({ name: m.name, type: m.type, value: m.value, timestamp: m.timestamp === undefined || m.timestamp === null ? null : toNumber(m.timestamp) })),
        receivedAt: Date.now(),
      });
    });
    await spy.subscribeAsync(`spBv1.0/${GROUP}/#`, { qos: 1, rap: true });

    const config = testConfig('http://127.0.0.1:9', { sparkplug: { enabled: true, groupId: GROUP, url }, mqtt: { reconnectMs: 100 } });
    lines.push(...new Set(config.planner.processes.map((p) => p.line)));
    store = await SeriesStore.open(join(config.dataDir, 'store'));
    await store.setValue('sparkplug.bdSeq', 240); // an earlier run: 40 reconnects will wrap 255 → 0
    const clock = new SystemClock();
    plugin = createSparkplug({
      config, clock, log: silent, bus, store, fetcher: new Fetcher(clock, config.fetch),
      mqtt: new MqttConnection({ url: 'mqtt://127.0.0.1:1', base: 't', clientId: 't', reconnectMs: 1000 }, clock, silent),
      mqttUrl: url, mqttCredentials: {}, catalog: () => [],
    });
    startedAt = Date.now();
    await plugin.start();
    let version = 0;
    const pump = setInterval(() => bus.emit('plan.updated', { version: ++version, planId: `p#${version}`, doc: planDoc(Date.now(), version) }), 15);
    try {
      await vi.waitFor(() => expect(count('DBIRTH')).toBeGreaterThanOrEqual(lines.length), { timeout: 60_000 });
      for (let k = 1; k <= RECONNECTS; k++) {
        const before = count('NBIRTH');
        // Take the node's client id over at a random moment: the broker drops the node and publishes its will.
        await new Promise((r) => setTimeout(r, Math.random() * 40));
        const intruder = await mqtt.connectAsync(url, { clientId: CLIENT_ID, reconnectPeriod: 0 });
        await intruder.endAsync();
        await vi.waitFor(() => expect(count('NDEATH')).toBe(k), { timeout: 60_000 });
        await vi.waitFor(() => expect(count('NBIRTH')).toBeGreaterThan(before), { timeout: 60_000 });
        if (k === 15) {
          // The conching PLC stops taking writes (modbus-lines says so on the bus): the node declares that device dead.
          bus.emit('line.state', { line: 'conching', state: 'failed', message: 'write failed' });
          await vi.waitFor(() => expect(count('DDEATH')).toBe(1), { timeout: 60_000 });
        }
        if (k === 20) {
          const nbirths = count('NBIRTH');
          bus.emit('line.state', { line: 'conching', state: 'ok', message: 'written' });
          await vi.waitFor(() => expect(count('NBIRTH')).toBeGreaterThan(nbirths), { timeout: 60_000 });
        }
        if (k === 10 || k === 30) {
          const nbirths = count('NBIRTH');
          await spy.publishAsync(`spBv1.0/${GROUP}/NCMD/${NODE}`, Buffer.from(codec.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }] })));
          await vi.waitFor(() => expect(count('NBIRTH')).toBeGreaterThan(nbirths), { timeout: 60_000 });
        }
      }
      await vi.waitFor(() => expect(count('DDATA')).toBeGreaterThan(0), { timeout: 60_000 });
    } finally {
      clearInterval(pump);
    }
    await new Promise((r) => setTimeout(r, 100));
    await plugin.stop();
    await vi.waitFor(() => expect(count('NDEATH')).toBe(RECONNECTS + 1), { timeout: 60_000 });
    finishedAt = Date.now();
    sessions = cutSessions(captured.filter((c) => c.type !== 'NCMD' && c.type !== 'DCMD')); // commands come from the host
  }, 180_000);

  afterAll(async () => {
    await spy?.endAsync();
    await store?.close();
    await broker?.stop();
  });

  function cutSessions(all: Captured[]): SessionView[] {
    const out: SessionView[] = [];
    let current: SessionView | null = null;
    for (const c of all) {
      if (c.type === 'NBIRTH') {
        const bd = toNumber(c.metrics.find((m) => m.name === 'bdSeq')?.value);
        if (!current) out.push((current = { bdSeq: bd, births: [], messages: [], death: null }));
        current.births.push([c]);
      } else if (c.type === 'DBIRTH' && current) current.births.at(-1)!.push(c);
      if (c.type === 'NDEATH') {
        if (current) current.death = c;
        else out.push({ bdSeq: toNumber(c.metrics[0]?.value), births: [], messages: [c], death: c });
        current = null;
        continue;
      }
      if (current) current.messages.push(c);
      else out.push({ bdSeq: -1, births: [], messages: [c], death: null }); // a message outside any session
    }
    return out;
  }

  const fromNode = (types: string[]) => captured.filter((c) => types.includes(c.type) && c.topic.split('/')[3] === NODE);
  const nodeMessages = () => captured.filter((c) => c.type !== 'NCMD' && c.type !== 'DCMD');
  const metricNames = (c: Captured) => c.metrics.map((m) => m.name);
  const plausibleUtcMs = (t: number | null) => t !== null && t >= startedAt - 60_000 && t <= finishedAt + 60_000;

  /** Each TCK id with its assertion. */
  const CHECKS: Array<{ id: string; check: () => void }> = [
    { id: 'topic-structure', check: () => { for (const c of captured) expect(c.topic).toMatch(/^spBv1\.0\/[^/+#]+\/(NBIRTH|NDEATH|NDATA|NCMD|DBIRTH|DDEATH|DDATA|DCMD)\/[^/+#]+(\/[^/+#]+)?$/); } },
    { id: 'topic-structure-namespace-a', check: () => { for (const c of captured) expect(c.topic.startsWith('spBv1.0/')).toBe(true); } },
    { id: 'topic-structure-namespace-valid-group-id', check: () => { for (const c of captured) expect(c.topic.split('/')[1]).toMatch(/^[^/+#]+$/); } },
    { id: 'topic-structure-namespace-valid-edge-node-id', check: () => { for (const c of captured) expect(c.topic.split('/')[3]).toMatch(/^[^/+#]+$/); } },
    { id: 'topic-structure-namespace-valid-device-id', check: () => { for (const c of fromNode(['DBIRTH', 'DDATA'])) expect(c.device).toMatch(/^[^/+#]+$/); } },
    { id: 'topic-structure-namespace-unique-device-id', check: () => { for (const s of sessions) for (const b of s.births) { const ids = b.filter((c) => c.type === 'DBIRTH').map((c) => c.device); expect(new Set(ids).size).toBe(ids.length); } } },
    { id: 'topic-structure-namespace-device-id-associated-message-types', check: () => { for (const c of fromNode(['DBIRTH', 'DDATA', 'DDEATH'])) expect(c.device).toBeTruthy(); } },
    { id: 'topic-structure-namespace-device-id-non-associated-message-types', check: () => { for (const c of fromNode(['NBIRTH', 'NDATA', 'NDEATH'])) expect(c.device).toBeNull(); } },
    { id: 'topics-nbirth-topic', check: () => { for (const c of fromNode(['NBIRTH'])) expect(c.topic).toBe(`spBv1.0/${GROUP}/NBIRTH/${NODE}`); } },
    { id: 'topics-nbirth-mqtt', check: () => { for (const c of fromNode(['NBIRTH'])) expect([c.qos, c.retain]).toEqual([0, false]); } },
    { id: 'topics-nbirth-seq-num', check: () => { for (const c of fromNode(['NBIRTH'])) expect(c.seq).toBe(0); } },
    { id: 'topics-nbirth-timestamp', check: () => { for (const c of fromNode(['NBIRTH'])) expect(plausibleUtcMs(c.timestamp)).toBe(true); } },
    { id: 'topics-nbirth-metric-reqs', check: () => checkDataWithinBirth('NDATA') },
    { id: 'topics-nbirth-metrics', check: () => { for (const c of fromNode(['NBIRTH'])) for (const m of c.metrics) expect([typeof m.name, typeof m.type, m.value === undefined]).toEqual(['string', 'string', false]); } },
    { id: 'topics-nbirth-bdseq-included', check: () => { for (const c of fromNode(['NBIRTH'])) expect(metricNames(c)).toContain('bdSeq'); } },
    { id: 'topics-nbirth-bdseq-matching', check: () => { for (const s of sessions.filter((x) => x.death && x.births.length)) expect(toNumber(s.death!.metrics[0]!.value)).toBe(s.bdSeq); } },
    { id: 'topics-nbirth-bdseq-increment', check: () => checkBdSeqIncrements() },
    { id: 'topics-nbirth-rebirth-metric', check: () => checkRebirthMetric() },
    { id: 'topics-ndata-topic', check: () => { for (const c of fromNode(['NDATA'])) expect(c.topic).toBe(`spBv1.0/${GROUP}/NDATA/${NODE}`); } },
    { id: 'topics-ndata-mqtt', check: () => { for (const c of fromNode(['NDATA'])) expect([c.qos, c.retain]).toEqual([0, false]); } },
    { id: 'topics-ndata-seq-num', check: () => checkSeqIncrements() },
    { id: 'topics-ndata-timestamp', check: () => { for (const c of fromNode(['NDATA'])) expect(plausibleUtcMs(c.timestamp)).toBe(true); } },
    { id: 'topics-ndata-payload', check: () => { expect(fromNode(['NDATA']).length).toBeGreaterThan(0); for (const c of fromNode(['NDATA'])) expect(c.metrics.length).toBeGreaterThan(0); } },
    { id: 'topics-ndeath-topic', check: () => { for (const c of fromNode(['NDEATH'])) expect(c.topic).toBe(`spBv1.0/${GROUP}/NDEATH/${NODE}`); } },
    { id: 'topics-ndeath-payload', check: () => { for (const c of fromNode(['NDEATH'])) expect(metricNames(c)).toEqual(['bdSeq']); } },
    { id: 'topics-ndeath-seq', check: () => { for (const c of fromNode(['NDEATH'])) expect(c.seq).toBeNull(); } },
    { id: 'topics-dbirth-topic', check: () => { for (const c of fromNode(['DBIRTH'])) expect(lines).toContain(c.topic.replace(`spBv1.0/${GROUP}/DBIRTH/${NODE}/`, '')); } },
    { id: 'topics-dbirth-mqtt', check: () => { for (const c of fromNode(['DBIRTH'])) expect([c.qos, c.retain]).toEqual([0, false]); } },
    { id: 'topics-dbirth-seq', check: () => checkSeqIncrements() },
    { id: 'topics-dbirth-timestamp', check: () => { for (const c of fromNode(['DBIRTH'])) expect(plausibleUtcMs(c.timestamp)).toBe(true); } },
    { id: 'topics-dbirth-metric-reqs', check: () => checkDataWithinBirth('DDATA') },
    { id: 'topics-dbirth-metrics', check: () => { for (const c of fromNode(['DBIRTH'])) for (const m of c.metrics) expect([typeof m.name, typeof m.type, m.value === undefined]).toEqual(['string', 'string', false]); } },
    { id: 'topics-ddata-topic', check: () => { for (const c of fromNode(['DDATA'])) expect(lines).toContain(c.topic.replace(`spBv1.0/${GROUP}/DDATA/${NODE}/`, '')); } },
    { id: 'topics-ddata-mqtt', check: () => { for (const c of fromNode(['DDATA'])) expect([c.qos, c.retain]).toEqual([0, false]); } },
    { id: 'topics-ddata-seq-num', check: () => checkSeqIncrements() },
    { id: 'topics-ddata-timestamp', check: () => { for (const c of fromNode(['DDATA'])) expect(plausibleUtcMs(c.timestamp)).toBe(true); } },
    { id: 'topics-ddata-payload', check: () => { expect(fromNode(['DDATA']).length).toBeGreaterThan(0); for (const c of fromNode(['DDATA'])) expect(c.metrics.length).toBeGreaterThan(0); } },
    { id: 'case-sensitivity-sparkplug-ids', check: () => { const ids = [GROUP, NODE, ...lines].map((x) => x.toLowerCase()); expect(new Set(ids).size).toBe(ids.length); } },
    { id: 'case-sensitivity-metric-names', check: () => { for (const c of fromNode(['NBIRTH', 'DBIRTH'])) { const n = metricNames(c).map((x) => x!.toLowerCase()); expect(new Set(n).size).toBe(n.length); } } },
    { id: 'message-flow-edge-node-ncmd-subscribe', check: () => checkNcmdSubscription() },
    { id: 'message-flow-edge-node-birth-publish-connect', check: () => checkNothingOutsideSessions() },
    { id: 'message-flow-edge-node-birth-publish-will-message', check: () => expect(fromNode(['NDEATH']).length).toBe(RECONNECTS + 1) },
    { id: 'message-flow-edge-node-birth-publish-will-message-topic', check: () => { for (const c of fromNode(['NDEATH'])) expect(c.topic).toBe(`spBv1.0/${GROUP}/NDEATH/${NODE}`); } },
    { id: 'message-flow-edge-node-birth-publish-will-message-payload', check: () => { for (const c of fromNode(['NDEATH'])) expect(c.metrics.length).toBe(1); } },
    { id: 'message-flow-edge-node-birth-publish-will-message-payload-bdSeq', check: () => { for (const c of fromNode(['NDEATH'])) expect(c.metrics[0]).toMatchObject({ name: 'bdSeq', type: 'Int64' }); checkBdSeqIncrements(); } },
    { id: 'message-flow-edge-node-birth-publish-will-message-qos', check: () => { for (const c of fromNode(['NDEATH'])) expect(c.qos).toBe(1); } },
    { id: 'message-flow-edge-node-birth-publish-will-message-will-retained', check: () => { for (const c of fromNode(['NDEATH'])) expect(c.retain).toBe(false); } },
    { id: 'message-flow-edge-node-birth-publish-nbirth-topic', check: () => { for (const c of fromNode(['NBIRTH'])) expect(c.topic).toBe(`spBv1.0/${GROUP}/NBIRTH/${NODE}`); } },
    { id: 'message-flow-edge-node-birth-publish-nbirth-payload', check: () => expect(fromNode(['NBIRTH']).length).toBeGreaterThanOrEqual(RECONNECTS + 1 + 2) },
    { id: 'message-flow-edge-node-birth-publish-nbirth-payload-bdSeq', check: () => { for (const c of fromNode(['NBIRTH'])) { const b = c.metrics.find((m) => m.name === 'bdSeq')!; expect(b.type).toBe('Int64'); expect(toNumber(b.value)).toBeGreaterThanOrEqual(0); expect(toNumber(b.value)).toBeLessThanOrEqual(255); } } },
    { id: 'message-flow-edge-node-birth-publish-nbirth-qos', check: () => { for (const c of fromNode(['NBIRTH'])) expect(c.qos).toBe(0); } },
    { id: 'message-flow-edge-node-birth-publish-nbirth-retained', check: () => { for (const c of fromNode(['NBIRTH'])) expect(c.retain).toBe(false); } },
    { id: 'message-flow-edge-node-birth-publish-nbirth-payload-seq', check: () => { for (const c of fromNode(['NBIRTH'])) expect(c.seq).toBe(0); } },
    { id: 'operational-behavior-edge-node-intentional-disconnect-ndeath', check: () => { const last = nodeMessages().at(-1)!; expect(last.type).toBe('NDEATH'); expect(toNumber(last.metrics[0]!.value)).toBe(sessions.at(-1)!.bdSeq); } },
    { id: 'message-flow-device-birth-publish-nbirth-wait', check: () => checkBirthOrder() },
    { id: 'message-flow-device-birth-publish-dbirth-topic', check: () => { for (const c of fromNode(['DBIRTH'])) expect(c.topic).toMatch(new RegExp(`^spBv1\\.0/${GROUP}/DBIRTH/${NODE}/[^/+#]+$`)); } },
    { id: 'message-flow-device-birth-publish-dbirth-match-edge-node-topic', check: () => { for (const s of sessions) for (const b of s.births) for (const c of b.slice(1)) expect(c.topic.split('/').slice(1, 4).join('/')).toBe(b[0]!.topic.split('/').slice(1, 4).join('/').replace('NBIRTH', 'DBIRTH')); } },
    { id: 'message-flow-device-birth-publish-dbirth-payload', check: () => expect(fromNode(['DBIRTH']).length).toBeGreaterThanOrEqual((RECONNECTS + 1) * lines.length) },
    { id: 'message-flow-device-birth-publish-dbirth-qos', check: () => { for (const c of fromNode(['DBIRTH'])) expect(c.qos).toBe(0); } },
    { id: 'message-flow-device-birth-publish-dbirth-retained', check: () => { for (const c of fromNode(['DBIRTH'])) expect(c.retain).toBe(false); } },
    { id: 'message-flow-device-birth-publish-dbirth-payload-seq', check: () => checkSeqIncrements() },
    { id: 'operational-behavior-data-publish-nbirth', check: () => checkDataWithinBirth('NDATA') },
    { id: 'operational-behavior-data-publish-nbirth-values', check: () => { for (const c of fromNode(['NBIRTH'])) for (const m of c.metrics) expect(m.value === undefined || m.value === null).toBe(false); } },
    { id: 'operational-behavior-data-publish-dbirth', check: () => checkDataWithinBirth('DDATA') },
    { id: 'operational-behavior-data-publish-dbirth-values', check: () => { for (const c of fromNode(['DBIRTH'])) for (const m of c.metrics) expect(m.value === undefined || m.value === null).toBe(false); } },
    { id: 'operational-behavior-data-publish-dbirth-change', check: () => checkOnlyChanges('DDATA') },
    { id: 'operational-behavior-data-publish-nbirth-change', check: () => checkOnlyChanges('NDATA') },
    { id: 'operational-behavior-data-publish-nbirth-order', check: () => checkChronological(['NBIRTH', 'NDATA']) },
    { id: 'operational-behavior-data-publish-dbirth-order', check: () => checkChronological(['DBIRTH', 'DDATA']) },
    { id: 'operational-behavior-data-commands-rebirth-name', check: () => checkRebirthMetric() },
    { id: 'operational-behavior-data-commands-rebirth-datatype', check: () => checkRebirthMetric() },
    { id: 'operational-behavior-data-commands-rebirth-value', check: () => checkRebirthMetric() },
    { id: 'operational-behavior-data-commands-rebirth-action-1', check: () => checkBirthOrder() },
    { id: 'operational-behavior-data-commands-rebirth-action-2', check: () => { expect(sessions.filter((s) => s.births.length > 1).length).toBeGreaterThanOrEqual(2); checkCompleteBirths(); } },
    { id: 'operational-behavior-device-ddeath', check: () => checkDeviceDeath() },
    { id: 'topics-ddeath-topic', check: () => { for (const c of fromNode(['DDEATH'])) expect(c.topic).toBe(`spBv1.0/${GROUP}/DDEATH/${NODE}/conching`); } },
    { id: 'topics-ddeath-mqtt', check: () => { expect(fromNode(['DDEATH']).length).toBe(1); for (const c of fromNode(['DDEATH'])) expect([c.qos, c.retain]).toEqual([0, false]); } },
    { id: 'topics-ddeath-seq-num', check: () => { for (const c of fromNode(['DDEATH'])) expect(c.seq).not.toBeNull(); checkSeqIncrements(); } },
    { id: 'payloads-ddeath-timestamp', check: () => { for (const c of fromNode(['DDEATH'])) expect(plausibleUtcMs(c.timestamp)).toBe(true); } },
    { id: 'payloads-ddeath-seq', check: () => { for (const c of fromNode(['DDEATH'])) expect(c.seq).not.toBeNull(); } },
    { id: 'payloads-ddeath-seq-inc', check: () => checkSeqIncrements() },
    { id: 'payloads-ddeath-seq-number', check: () => { for (const c of fromNode(['DDEATH'])) expect(c.seq).not.toBeNull(); checkSeqIncrements(); } },
    { id: 'operational-behavior-data-commands-rebirth-action-3', check: () => { for (const s of sessions) for (const b of s.births) expect(toNumber(b[0]!.metrics.find((m) => m.name === 'bdSeq')!.value)).toBe(s.bdSeq); } },
    { id: 'payloads-timestamp-in-UTC', check: () => { for (const c of captured) expect(plausibleUtcMs(c.timestamp)).toBe(true); } },
    { id: 'payloads-sequence-num-always-included', check: () => { for (const c of fromNode(['NBIRTH', 'DBIRTH', 'NDATA', 'DDATA'])) expect(c.seq).not.toBeNull(); } },
    { id: 'payloads-sequence-num-req-nbirth', check: () => { for (const c of fromNode(['NBIRTH'])) expect(c.seq).toBe(0); } },
    { id: 'payloads-sequence-num-incrementing', check: () => checkSeqIncrements() },
    { id: 'payloads-name-requirement', check: () => { for (const c of captured) for (const m of c.metrics) expect(m.name).toBeTruthy(); } },
    { id: 'payloads-name-birth-data-requirement', check: () => { for (const c of fromNode(['NBIRTH', 'DBIRTH', 'NDATA', 'DDATA'])) for (const m of c.metrics) expect(plausibleUtcMs(m.timestamp)).toBe(true); } },
    { id: 'payloads-metric-timestamp-in-UTC', check: () => { for (const c of fromNode(['NBIRTH', 'DBIRTH', 'NDATA', 'DDATA'])) for (const m of c.metrics) expect(Math.abs(m.timestamp! - c.timestamp!)).toBeLessThan(60_000); } },
    { id: 'payloads-metric-datatype-value', check: () => { for (const c of captured) for (const m of c.metrics) expect(['Int32', 'Int64', 'UInt64', 'Double', 'Boolean', 'String', 'DateTime']).toContain(m.type); } },
    { id: 'payloads-metric-datatype-req', check: () => { for (const c of fromNode(['NBIRTH', 'DBIRTH'])) for (const m of c.metrics) expect(m.type).toBeTruthy(); } },
    { id: 'payloads-nbirth-timestamp', check: () => { for (const c of fromNode(['NBIRTH'])) expect(plausibleUtcMs(c.timestamp)).toBe(true); } },
    { id: 'payloads-nbirth-seq', check: () => { for (const c of fromNode(['NBIRTH'])) expect(c.seq).toBe(0); } },
    { id: 'payloads-nbirth-bdseq', check: () => { for (const c of fromNode(['NBIRTH'])) expect(metricNames(c)).toContain('bdSeq'); } },
    { id: 'payloads-nbirth-bdseq-repeat', check: () => { for (const s of sessions.filter((x) => x.death && x.births.length)) expect(toNumber(s.death!.metrics[0]!.value)).toBe(s.bdSeq); } },
    { id: 'payloads-nbirth-rebirth-req', check: () => checkRebirthMetric() },
    { id: 'payloads-nbirth-qos', check: () => { for (const c of fromNode(['NBIRTH'])) expect(c.qos).toBe(0); } },
    { id: 'payloads-nbirth-retain', check: () => { for (const c of fromNode(['NBIRTH'])) expect(c.retain).toBe(false); } },
    { id: 'payloads-dbirth-timestamp', check: () => { for (const c of fromNode(['DBIRTH'])) expect(plausibleUtcMs(c.timestamp)).toBe(true); } },
    { id: 'payloads-dbirth-seq', check: () => { for (const c of fromNode(['DBIRTH'])) expect(c.seq).not.toBeNull(); } },
    { id: 'payloads-dbirth-seq-inc', check: () => checkSeqIncrements() },
    { id: 'payloads-dbirth-order', check: () => checkBirthOrder() },
    { id: 'payloads-dbirth-qos', check: () => { for (const c of fromNode(['DBIRTH'])) expect(c.qos).toBe(0); } },
    { id: 'payloads-dbirth-retain', check: () => { for (const c of fromNode(['DBIRTH'])) expect(c.retain).toBe(false); } },
    { id: 'payloads-ndata-timestamp', check: () => { for (const c of fromNode(['NDATA'])) expect(plausibleUtcMs(c.timestamp)).toBe(true); } },
    { id: 'payloads-ndata-seq', check: () => { for (const c of fromNode(['NDATA'])) expect(c.seq).not.toBeNull(); } },
    { id: 'payloads-ndata-seq-inc', check: () => checkSeqIncrements() },
    { id: 'payloads-ndata-order', check: () => checkBirthOrder() },
    { id: 'payloads-ndata-qos', check: () => { for (const c of fromNode(['NDATA'])) expect(c.qos).toBe(0); } },
    { id: 'payloads-ndata-retain', check: () => { for (const c of fromNode(['NDATA'])) expect(c.retain).toBe(false); } },
    { id: 'payloads-ddata-timestamp', check: () => { for (const c of fromNode(['DDATA'])) expect(plausibleUtcMs(c.timestamp)).toBe(true); } },
    { id: 'payloads-ddata-seq', check: () => { for (const c of fromNode(['DDATA'])) expect(c.seq).not.toBeNull(); } },
    { id: 'payloads-ddata-seq-inc', check: () => checkSeqIncrements() },
    { id: 'payloads-ddata-order', check: () => checkBirthOrder() },
    { id: 'payloads-ddata-qos', check: () => { for (const c of fromNode(['DDATA'])) expect(c.qos).toBe(0); } },
    { id: 'payloads-ddata-retain', check: () => { for (const c of fromNode(['DDATA'])) expect(c.retain).toBe(false); } },
    { id: 'payloads-ndeath-seq', check: () => { for (const c of fromNode(['NDEATH'])) expect(c.seq).toBeNull(); } },
    { id: 'payloads-ndeath-will-message', check: () => expect(fromNode(['NDEATH']).length).toBe(RECONNECTS + 1) },
    { id: 'payloads-ndeath-will-message-qos', check: () => { for (const c of fromNode(['NDEATH'])) expect(c.qos).toBe(1); } },
    { id: 'payloads-ndeath-will-message-retain', check: () => { for (const c of fromNode(['NDEATH'])) expect(c.retain).toBe(false); } },
    { id: 'payloads-ndeath-bdseq', check: () => { for (const s of sessions.filter((x) => x.death && x.births.length)) expect(toNumber(s.death!.metrics[0]!.value)).toBe(s.bdSeq); } },
    { id: 'payloads-ndeath-will-message-publisher', check: () => expect(nodeMessages().at(-1)!.type).toBe('NDEATH') },
    { id: 'payloads-ndeath-will-message-publisher-disconnect-mqtt311', check: () => expect(nodeMessages().at(-1)!.type).toBe('NDEATH') },
  ];

  /** Every message of the node belongs to a session that began with NBIRTH; NDEATH alone may follow a takeover mid-connect. */
  function checkNothingOutsideSessions(): void {
    const stray = sessions.filter((s) => s.bdSeq === -1).flatMap((s) => s.messages.map((c) => `${c.i}:${c.type}`));
    expect(stray).toEqual([]);
  }

  /**
   * In each birth sequence: NBIRTH, then DBIRTHs only, then data; never a DBIRTH once data has begun; DDATA only for
   * a device born in the current birth sequence and not declared dead since.
   */
  function checkBirthOrder(): void {
    checkNothingOutsideSessions();
    for (const s of sessions) {
      let state: 'birthing' | 'born' = 'birthing';
      const alive = new Set<string>();
      for (const c of s.messages) {
        if (c.type === 'NBIRTH') {
          state = 'birthing';
          alive.clear();
        } else if (c.type === 'DBIRTH') {
          expect(state, `message ${c.i}: DBIRTH after data`).toBe('birthing');
          alive.add(c.device!);
        } else {
          state = 'born';
          if (c.type === 'DDATA') expect(alive.has(c.device!), `message ${c.i}: DDATA for ${c.device} not born or dead`).toBe(true);
          if (c.type === 'DDEATH') alive.delete(c.device!);
        }
      }
    }
  }

  /** Births: every line has its DBIRTH, except the conching line while its PLC link is down. */
  function checkCompleteBirths(): void {
    let withoutConching = 0;
    let full = 0;
    for (const s of sessions) {
      for (const [k, b] of s.births.entries()) {
        const devices = b.slice(1).map((c) => c.device).sort();
        if (devices.length === lines.length) full++;
        else if (k < s.births.length - 1 || s.messages.some((c) => c.i > b.at(-1)!.i && c.type !== 'NDEATH')) {
          // A birth sequence that data followed (not one cut short by the takeover) lacks only the dead line.
          expect(devices).toEqual(lines.filter((l) => l !== 'conching').sort());
          withoutConching++;
        }
      }
    }
    expect(withoutConching).toBeGreaterThan(0);
    expect(full).toBeGreaterThan(RECONNECTS / 2);
  }

  /** After the conching PLC failed: one DDEATH for it, then nothing about it until a birth sequence includes it again. */
  function checkDeviceDeath(): void {
    const deaths = fromNode(['DDEATH']);
    expect(deaths.map((c) => c.device)).toEqual(['conching']);
    const after = nodeMessages().filter((c) => c.i > deaths[0]!.i);
    const reborn = after.findIndex((c) => c.type === 'DBIRTH' && c.device === 'conching');
    expect(reborn).toBeGreaterThan(0);
    expect(after.slice(0, reborn).filter((c) => c.device === 'conching')).toEqual([]);
    expect(deaths[0]!.metrics).toEqual([]);
  }

  /** seq: 0 at NBIRTH, then one more per message of the session, 255 → 0; never continued from an older session. */
  function checkSeqIncrements(): void {
    checkNothingOutsideSessions();
    let checked = 0;
    for (const s of sessions) {
      let expected = 0;
      for (const c of s.messages) {
        if (c.type === 'NDEATH') continue;
        if (c.type === 'NBIRTH') expected = 0;
        expect(c.seq, `message ${c.i} (${c.type})`).toBe(expected);
        expected = (expected + 1) % 256;
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(RECONNECTS * (1 + lines.length));
  }

  /** bdSeq: one more on every new connection (255 → 0), the same on a rebirth; starts from the stored 240 + 1. */
  function checkBdSeqIncrements(): void {
    const born = sessions.filter((s) => s.births.length);
    expect(born[0]!.bdSeq).toBe(241);
    for (let k = 1; k < born.length; k++) expect(born[k]!.bdSeq, `session ${k}`).toBe((born[k - 1]!.bdSeq + 1) % 256);
    expect(born.some((s) => s.bdSeq === 255) && born.some((s) => s.bdSeq === 0)).toBe(true); // wrapped
    expect(born.length).toBe(RECONNECTS + 1);
  }

  function checkRebirthMetric(): void {
    for (const c of fromNode(['NBIRTH'])) expect(c.metrics.find((m) => m.name === 'Node Control/Rebirth')).toMatchObject({ type: 'Boolean', value: false });
  }

  /** Data carries only metrics announced in the session's last birth for that node/device. */
  function checkDataWithinBirth(type: 'NDATA' | 'DDATA'): void {
    for (const s of sessions) {
      const announced = new Map<string, Set<string>>();
      for (const c of s.messages) {
        if (c.type === 'NBIRTH') announced.set('', new Set(metricNames(c) as string[]));
        if (c.type === 'DBIRTH') announced.set(c.device!, new Set(metricNames(c) as string[]));
        if (c.type === type) for (const n of metricNames(c)) expect(announced.get(c.device ?? '')?.has(n!), `message ${c.i}: ${n}`).toBe(true);
      }
    }
  }

  /** NDATA/DDATA only when a metric changed: never a metric with the value last reported in that session. */
  function checkOnlyChanges(type: 'NDATA' | 'DDATA'): void {
    const birth = type === 'NDATA' ? 'NBIRTH' : 'DBIRTH';
    let seen = 0;
    for (const s of sessions) {
      const last = new Map<string, unknown>();
      for (const c of s.messages) {
        if (c.type !== birth && c.type !== type) continue;
        for (const m of c.metrics) {
          const key = `${c.device}/${m.name}`;
          const value = typeof m.value === 'string' || typeof m.value === 'boolean' ? m.value : toNumber(m.value);
          if (c.type === type) {
            expect(value, `message ${c.i}: ${key}`).not.toEqual(last.get(key));
            seen++;
          }
          last.set(key, value);
        }
      }
    }
    expect(seen).toBeGreaterThan(0);
  }

  /** Within each payload, metric timestamps never go back in time (none of ours is historical). */
  function checkChronological(types: string[]): void {
    for (const c of fromNode(types)) {
      const ts = c.metrics.map((m) => m.timestamp!);
      expect(ts, `message ${c.i}`).toEqual([...ts].sort((a, b) => a - b));
    }
  }

  /** The broker's log: every session subscribed to its NCMD topic at QoS 1. */
  function checkNcmdSubscription(): void {
    const subs = broker.log.split('\n').filter((l) => l.includes(` ${CLIENT_ID} `) && l.endsWith(`spBv1.0/${GROUP}/NCMD/${NODE}`));
    expect(subs.length).toBeGreaterThanOrEqual(RECONNECTS + 1);
    for (const l of subs) expect(l).toMatch(new RegExp(`${CLIENT_ID} 1 spBv1\\.0/${GROUP}/NCMD/${NODE}$`));
  }

  it('saw the scenario: 41 sessions, 40 wills, 3 rebirths, 1 device death, data in between', () => {
    expect(sessions.filter((s) => s.births.length).length).toBe(RECONNECTS + 1);
    expect(count('NDEATH')).toBe(RECONNECTS + 1);
    expect(sessions.reduce((n, s) => n + s.births.length - 1, 0)).toBe(3); // two rebirth requests, one line back
    expect(count('DDEATH')).toBe(1);
    expect(count('NDATA')).toBeGreaterThan(RECONNECTS);
  });

  it.each(CHECKS.map((c) => [c.id, c.check] as const))('%s', (_id, check) => check());
});

