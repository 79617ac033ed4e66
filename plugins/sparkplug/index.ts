import mqtt, { type MqttClient } from 'mqtt';
import sparkplug from 'sparkplug-payload';
import { errorMessage } from '../../gateway/errors.js';
import { HealthTracker } from '../../gateway/health.js';
import type { PlanDocumentPayload } from '../../gateway/mqtt/topics.js';
import { readSecret } from '../../gateway/config/load.js';
import { sparkplugClientId } from '../../gateway/mqtt/client-ids.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/plugin.js';
import { lineStateAt } from '../modbus-lines/index.js';

export interface Metric {
  name: string;
  type: 'Boolean' | 'Double' | 'String' | 'UInt64' | 'Int32';
  value: unknown;
}

interface Codec {
  encodePayload(p: { timestamp: number; seq?: number; metrics: Metric[] }): Uint8Array;
  decodePayload(b: Uint8Array): { timestamp: unknown; seq?: unknown; metrics: Array<{ name: string; type: string; value: unknown }> };
}

export const codec = (sparkplug as unknown as { get(ns: string): Codec }).get('spBv1.0');

/** Sparkplug's 64-bit integers decode as {low, high}. */
export function toNumber(x: unknown): number {
  if (typeof x === 'number') return x;
  const l = x as { low: number; high: number } | null;
  return l && typeof l.low === 'number' ? l.high * 2 ** 32 + (l.low >>> 0) : Number(x);
}

/**
 * The gateway as a Sparkplug B edge node: NBIRTH/NDEATH with a bdSeq kept across restarts (NDEATH is the QoS 1
 * will), seq 0-255 on every message, one device per line (DBIRTH/DDATA), rebirth on NCMD.
 * It keeps its own MQTT session because Sparkplug needs its own will message.
 */
export function createSparkplug(ctx: PluginContext): Plugin {
  const cfg = ctx.config.sparkplug;
  const group = cfg.groupId;
  const node = cfg.edgeNodeId ?? ctx.config.site.id;
  const t = (type: string, device?: string) => `spBv1.0/${group}/${type}/${node}${device ? `/${device}` : ''}`;
  const tracker = new HealthTracker(() => ctx.clock.now());
  const lines = ctx.config.planner.processes.map((p) => p.line);
  const kwOf = (line: string) => ctx.config.planner.processes.find((p) => p.line === line)?.kw ?? 0;
  let client: MqttClient | undefined;
  let seq = 0;
  let bdSeq = 0;
  let plan: PlanDocumentPayload | null = null;
  let births = 0;
  const nextSeq = () => {
    const s = seq;
    seq = (seq + 1) % 256;
    return s;
  };
  const send = async (topic: string, metrics: Metric[]) => {
    if (!client?.connected) return;
    await client.publishAsync(topic, Buffer.from(codec.encodePayload({ timestamp: ctx.clock.now(), seq: nextSeq(), metrics })), { qos: 0 });
  };
  const lineMetrics = (line: string): Metric[] => {
    const s = lineStateAt(plan, line, ctx.clock.now(), (process) => ctx.config.planner.processes.find((p) => p.name === process)?.kw ?? kwOf(line));
    return [
      { name: 'command', type: 'String', value: s.command },
      { name: 'power_kw', type: 'Double', value: s.powerKw },
      { name: 'valid_until', type: 'UInt64', value: s.validUntil },
    ];
  };
  const birth = async () => {
    seq = 0;
    births++;
    await send(t('NBIRTH'), [
      { name: 'bdSeq', type: 'UInt64', value: bdSeq },
      { name: 'Node Control/Rebirth', type: 'Boolean', value: false },
      { name: 'plan/cost_eur', type: 'Double', value: plan?.totals.cost_eur ?? 0 },
      { name: 'plan/version', type: 'Int32', value: plan?.version ?? 0 },
    ]);
    for (const line of lines) await send(t('DBIRTH', line), lineMetrics(line));
  };
  return {
    name: 'sparkplug',
    async start() {
      bdSeq = ((await ctx.store.getValue<number>('sparkplug.bdSeq')) ?? -1) + 1;
      const url = cfg.url ?? ctx.mqttUrl;
      const will = () => ({ topic: t('NDEATH'), payload: Buffer.from(codec.encodePayload({ timestamp: ctx.clock.now(), metrics: [{ name: 'bdSeq', type: 'UInt64', value: bdSeq }] })), qos: 1 as const, retain: false });
      client = mqtt.connect(url, { ...sparkplugCredentials(ctx), clientId: sparkplugClientId(ctx.config), clean: true, reconnectPeriod: ctx.config.mqtt.reconnectMs, will: will() });
      client.on('connect', () => {
        void (async () => {
          await ctx.store.setValue('sparkplug.bdSeq', bdSeq);
          await client!.subscribeAsync(t('NCMD'), { qos: 0 });
          await birth();
          tracker.set('ok', `online as ${group}/${node}, bdSeq ${bdSeq}`);
        })().catch((e: unknown) => tracker.set('degraded', errorMessage(e)));
      });
      client.on('close', () => {
        // The broker published NDEATH with this bdSeq; the next session announces the next one.
        bdSeq++;
        client!.options.will = will();
        tracker.set('degraded', 'disconnected; will rebirth on reconnect');
      });
      client.on('message', (_topic, payload) => {
        try {
          const cmd = codec.decodePayload(payload);
          if (cmd.metrics.some((m) => m.name === 'Node Control/Rebirth' && m.value === true)) void birth();
        } catch (error) {
          ctx.log.warn({ err: errorMessage(error) }, 'undecodable NCMD');
        }
      });
      ctx.bus.on('plan.updated', 'sparkplug', (e) => {
        plan = e.doc;
        void (async () => {
          await send(t('NDATA'), [
            { name: 'plan/cost_eur', type: 'Double', value: plan!.totals.cost_eur },
            { name: 'plan/version', type: 'Int32', value: plan!.version },
          ]);
          for (const line of lines) await send(t('DDATA', line), lineMetrics(line));
        })();
      });
      tracker.set('starting', 'connecting');
    },
    async stop() {
      ctx.bus.removeOwner('sparkplug');
      if (client?.connected) await client.publishAsync(t('NDEATH'), Buffer.from(codec.encodePayload({ timestamp: ctx.clock.now(), metrics: [{ name: 'bdSeq', type: 'UInt64', value: bdSeq }] })), { qos: 1 });
      await client?.endAsync();
    },
    health: () => ({ ...tracker.get(), details: { bdSeq, births } }),
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
