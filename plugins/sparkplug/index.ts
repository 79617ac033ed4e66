import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createRequire } from 'node:module';
import { realClock, type TimerHandle } from '../../gateway/time/clock.js';
import { errorMessage } from '../../gateway/util/errors.js';
import { HealthTracker } from '../../gateway/util/health.js';
import type { PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { readSecret } from '../../gateway/config/load.js';
import { sparkplugClientId } from '../../gateway/mqtt/client-ids.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { lineStateAt, sameGuardShifts, withGuardShifts, type GuardShift } from '../../gateway/lines/line-state.js';
import { planRecommendationAt } from '../../gateway/planner/recommendation.js';
import { outputModeOf } from '../../gateway/core/output-mode.js';

export interface Metric {
  name: string;
  type: 'Boolean' | 'Double' | 'String' | 'UInt64' | 'Int64' | 'Int32' | 'DateTime';
  value: unknown;
  /** ms since the epoch, UTC: when the value was taken. */
  timestamp?: number;
}

interface Codec {
  encodePayload(p: { timestamp: number; seq?: number; metrics: Metric[] }): Uint8Array;
  decodePayload(b: Uint8Array): { timestamp: unknown; seq?: unknown; metrics: Array<{ name: string; type: string; value: unknown; timestamp?: unknown }> };
}

/**
 * The spBv1.0 payload codec of sparkplug-payload, required on the first encode or decode: it loads protobufjs
 * (about 4.5 MB of V8 heap), which a gateway with Sparkplug off never needs.
 */
let spBv1: Codec | undefined;
const spB = (): Codec => (spBv1 ??= (createRequire(import.meta.url)('sparkplug-payload') as { get(ns: string): Codec }).get('spBv1.0'));
export const codec: Codec = { encodePayload: (p) => spB().encodePayload(p), decodePayload: (b) => spB().decodePayload(b) };

/** Sparkplug's 64-bit integers decode as {low, high}. */
export function toNumber(x: unknown): number {
  if (typeof x === 'number') return x;
  const l = x as { low: number; high: number } | null;
  return l && typeof l.low === 'number' ? l.high * 2 ** 32 + (l.low >>> 0) : Number(x);
}

/** The bdSeq after `n`: one more for every new MQTT CONNECT, 255 wraps to 0 (Sparkplug 3.0, §5.x bdSeq). */
export const nextBdSeq = (n: number) => (n + 1) % 256;

/** How often the lines' metrics are compared with what was last reported (device time: a run ending changes them). */
const REPORT_CHECK_MS = 10_000;

/**
 * The gateway as a Sparkplug B 3.0 edge node with one device per line. Its own MQTT session (Sparkplug needs its
 * own will): NDEATH is the QoS 1 will with bdSeq (Int64, 0-255, one more per CONNECT, kept across restarts).
 * A session is born on each CONNECT: NCMD subscribed at QoS 1, then NBIRTH (seq 0) and every DBIRTH; nothing is
 * published before the births, nothing is queued while offline, and a message of an older session is never sent
 * in a newer one. NDATA/DDATA carry only the metrics that changed, every metric with its timestamp. A rebirth
 * request (NCMD `Node Control/Rebirth` = true) stops data and sends the births again with the same bdSeq.
 * A line whose PLC link fails (`line.state` from modbus-lines) gets a DDEATH; when it is back, the births again.
 */
export function createSparkplug(ctx: PluginContext): Plugin {
  const cfg = ctx.config.sparkplug;
  const group = cfg.groupId;
  const node = cfg.edgeNodeId ?? ctx.config.site.id;
  const t = (type: string, device?: string) => `spBv1.0/${group}/${type}/${node}${device ? `/${device}` : ''}`;
  const tracker = new HealthTracker(() => ctx.clock.now());
  const deviceClock = ctx.deviceClock ?? realClock;
  const lines = [...new Set(ctx.config.planner.processes.map((p) => p.line))];
  const kwOf = (line: string) => ctx.config.planner.processes.find((p) => p.line === line)?.kw ?? 0;
  let client: MqttClient | undefined;
  let bdSeq = 0;
  let plan: PlanDocumentPayload | null = null;
  /** The quarter-hour guard's deferred run starts in force (`power.guard`), applied to the line metrics. */
  let guardShifts: GuardShift[] = [];
  let births = 0;
  let sessions = 0;
  let checkTimer: TimerHandle | undefined;
  let stopping = false;
  /** Lines whose PLC link failed (from modbus-lines): DDEATH sent, no DBIRTH/DDATA until they are back. */
  const deadLines = new Set<string>();
  const liveLines = () => lines.filter((l) => !deadLines.has(l));

  /** One MQTT connection's Sparkplug session: its seq, whether its births are out, and its own publish queue. */
  interface Session {
    id: number;
    seq: number;
    born: boolean;
    queue: Promise<void>;
    /** What each device (and the node, as '') last reported, by metric name. */
    reported: Map<string, Map<string, unknown>>;
  }
  let session: Session | null = null;

  const outputs = outputModeOf(ctx);
  const nodeMetrics = (): Metric[] => [
    { name: 'plan/cost_eur', type: 'Double', value: plan?.totals.cost_eur ?? 0 },
    { name: 'plan/version', type: 'Int32', value: plan?.version ?? 0 },
    // The one recommendation: the plan's class for the current hour (gateway/planner/recommendation.ts).
    { name: 'plan/recommendation', type: 'String', value: planRecommendationAt(plan, ctx.clock.now())?.recommendation ?? '' },
    ...(outputs.dryRun ? [{ name: 'outputs/dry_run', type: 'Boolean' as const, value: true }] : []),
  ];
  /**
   * A line's metrics. In the write-nothing mode (outputs.dryRun) they are born as `would/command`, `would/power_kw`,
   * `would/valid_until`: a host or PLC that acts on `command` sees no command, the engineer sees what it would be.
   */
  const lineMetrics = (line: string): Metric[] => {
    // The line as its PLC is told: the plan with the quarter-hour guard's deferrals (as gateway/lines writes it).
    const s = lineStateAt(withGuardShifts(plan, guardShifts), line, ctx.clock.now(), (process) => ctx.config.planner.processes.find((p) => p.name === process)?.kw ?? kwOf(line));
    const dry = outputs.dryRunFor(line);
    const prefix = dry ? 'would/' : '';
    const metrics: Metric[] = [
      { name: `${prefix}command`, type: 'String', value: s.command },
      { name: `${prefix}power_kw`, type: 'Double', value: s.powerKw },
      { name: `${prefix}valid_until`, type: 'DateTime', value: s.validUntil },
      // The plant-unique id of the batch the line runs now, 0 when none (see the plan document).
      { name: `${prefix}batch`, type: 'Int64', value: s.batch ?? 0 },
    ];
    if (dry) outputs.wouldWrite('sparkplug', `DDATA ${line}`, `${s.command} ${s.powerKw} kW until ${new Date(s.validUntil).toISOString()}`, { command: s.command, power_kw: s.powerKw, valid_until: new Date(s.validUntil).toISOString() }, line);
    return metrics;
  };
  const stamp = (metrics: Metric[], at: number): Metric[] => metrics.map((m) => ({ ...m, timestamp: at }));
  const deathPayload = () => Buffer.from(codec.encodePayload({ timestamp: ctx.clock.now(), metrics: [{ name: 'bdSeq', type: 'Int64', value: bdSeq }] }));

  /** Runs `work` after the session's earlier publishes, only while that session is the current, connected one. */
  const inSession = (s: Session, work: () => Promise<void>): Promise<void> => {
    s.queue = s.queue.then(async () => {
      if (session !== s || !client?.connected) return;
      await work();
    }).catch((e: unknown) => tracker.set('degraded', `publish failed: ${errorMessage(e)}`));
    return s.queue;
  };

  const publish = async (s: Session, topic: string, metrics: Metric[]) => {
    if (session !== s || !client?.connected) return;
    const seq = s.seq;
    s.seq = (s.seq + 1) % 256;
    await client.publishAsync(topic, Buffer.from(codec.encodePayload({ timestamp: ctx.clock.now(), seq, metrics })), { qos: 0, retain: false });
  };

  const birth = (s: Session) =>
    inSession(s, async () => {
      s.born = false;
      s.seq = 0;
      s.reported.clear();
      const now = ctx.clock.now();
      const nodeNow = nodeMetrics();
      await publish(s, t('NBIRTH'), stamp([{ name: 'bdSeq', type: 'Int64', value: bdSeq }, { name: 'Node Control/Rebirth', type: 'Boolean', value: false }, ...nodeNow], now));
      s.reported.set('', new Map(nodeNow.map((m) => [m.name, m.value])));
      for (const line of liveLines()) {
        const metrics = lineMetrics(line);
        await publish(s, t('DBIRTH', line), stamp(metrics, now));
        s.reported.set(line, new Map(metrics.map((m) => [m.name, m.value])));
      }
      if (session === s) {
        s.born = true;
        births++;
      }
    });

  /** NDATA/DDATA with what changed since the births or the last data; nothing before the births. */
  const report = (s: Session) =>
    inSession(s, async () => {
      if (!s.born) return;
      const now = ctx.clock.now();
      const changed = (key: string, metrics: Metric[]) => {
        const last = s.reported.get(key) ?? new Map<string, unknown>();
        const out = metrics.filter((m) => last.get(m.name) !== m.value);
        for (const m of out) last.set(m.name, m.value);
        s.reported.set(key, last);
        return stamp(out, now);
      };
      const nodeChanged = changed('', nodeMetrics());
      if (nodeChanged.length) await publish(s, t('NDATA'), nodeChanged);
      for (const line of liveLines()) {
        const lineChanged = changed(line, lineMetrics(line));
        if (lineChanged.length) await publish(s, t('DDATA', line), lineChanged);
      }
    });

  const checkPeriodically = () => {
    checkTimer = deviceClock.setTimeout(() => {
      if (session) void report(session);
      if (!stopping) checkPeriodically();
    }, REPORT_CHECK_MS);
  };

  const connectOptions = (): IClientOptions => ({
    ...sparkplugCredentials(ctx),
    clientId: sparkplugClientId(ctx.config),
    clean: true,
    reconnectPeriod: ctx.config.mqtt.reconnectMs,
    // A QoS 0 message written while offline would go out after the reconnect, before the new births.
    queueQoSZero: false,
    // NCMD is subscribed by each session itself, before its births.
    resubscribe: false,
    will: { topic: t('NDEATH'), payload: deathPayload(), qos: 1, retain: false },
  });

  return {
    name: 'sparkplug',
    async start() {
      const stored = await ctx.store.getValue<number>('sparkplug.bdSeq');
      bdSeq = stored === undefined || stored === null ? 0 : nextBdSeq(stored);
      const url = cfg.url ?? ctx.mqttUrl;
      client = mqtt.connect(url, connectOptions());
      client.on('connect', () => {
        const s: Session = { id: ++sessions, seq: 0, born: false, queue: Promise.resolve(), reported: new Map() };
        session = s;
        void (async () => {
          await ctx.store.setValue('sparkplug.bdSeq', bdSeq);
          await client!.subscribeAsync(t('NCMD'), { qos: 1 });
          await birth(s);
          if (session === s) tracker.set('ok', `online as ${group}/${node}, bdSeq ${bdSeq}`);
        })().catch((e: unknown) => tracker.set('degraded', errorMessage(e)));
      });
      client.on('close', () => {
        // The session is over (the broker publishes its NDEATH); the next CONNECT announces the next bdSeq.
        if (session) {
          session = null;
          bdSeq = nextBdSeq(bdSeq);
        }
        client!.options.will = connectOptions().will;
        if (!stopping) tracker.set('degraded', 'disconnected; will be born again on reconnect');
      });
      client.on('message', (_topic, payload) => {
        try {
          const cmd = codec.decodePayload(payload);
          if (session && cmd.metrics.some((m) => m.name === 'Node Control/Rebirth' && m.value === true)) {
            session.born = false; // stop data at once, before the births are queued
            void birth(session);
          }
        } catch (error) {
          ctx.log.warn({ err: errorMessage(error) }, 'undecodable NCMD');
        }
      });
      // A line whose PLC stops taking writes is a device the node lost: DDEATH. When it is back, the whole
      // birth sequence again (all DBIRTHs follow the NBIRTH, never a DBIRTH after data in a session).
      ctx.bus.on('line.state', 'sparkplug', (e) => {
        if (!lines.includes(e.line)) return;
        if (e.state === 'failed' && !deadLines.has(e.line)) {
          deadLines.add(e.line);
          const s = session;
          if (s)
            void inSession(s, async () => {
              if (!s.reported.delete(e.line)) return; // not born in this session: nothing to declare dead
              await publish(s, t('DDEATH', e.line), []);
            });
        } else if (e.state === 'ok' && deadLines.delete(e.line) && session) {
          session.born = false;
          void birth(session);
        }
      });
      // The metric set changes with the write-nothing mode: a new birth sequence announces it (Sparkplug rebirth).
      ctx.bus.on('outputs.mode', 'sparkplug', () => {
        if (!session) return;
        session.born = false;
        void birth(session);
      });
      ctx.bus.on('plan.updated', 'sparkplug', (e) => {
        plan = e.doc;
        if (session) void report(session);
      });
      // The guard's current deferrals (each event carries the whole set): a changed set is reported at once.
      ctx.bus.on('power.guard', 'sparkplug', (e) => {
        if (sameGuardShifts(e.shifts, guardShifts)) return;
        guardShifts = e.shifts;
        if (session) void report(session);
      });
      checkPeriodically();
      tracker.set('starting', 'connecting');
    },
    async stop() {
      stopping = true;
      checkTimer?.cancel();
      ctx.bus.removeOwner('sparkplug');
      const s = session;
      if (s) await s.queue;
      // An intentional disconnect publishes NDEATH before DISCONNECT (MQTT 3.1.1).
      if (client?.connected) await client.publishAsync(t('NDEATH'), deathPayload(), { qos: 1, retain: false });
      session = null;
      await client?.endAsync();
    },
    health: () => ({ ...tracker.get(), details: { bdSeq, births, sessions } }),
  };
}

/**
 * What the Sparkplug session logs in with: on its own broker (`sparkplug.url`) only `sparkplug.username`/`password`;
 * on the gateway's broker the gateway's login. The embedded broker's internal credentials never leave the process.
 */
export function sparkplugCredentials(ctx: Pick<PluginContext, 'config' | 'mqttCredentials'>): { username?: string; password?: string } {
  const cfg = ctx.config.sparkplug;
  return cfg.url ? { username: cfg.username, password: readSecret(cfg.password, 'sparkplug.password') } : ctx.mqttCredentials;
}

export const sparkplugPlugin: PluginFactory = {
  name: 'sparkplug',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => config.sparkplug.enabled,
  create: createSparkplug,
};
