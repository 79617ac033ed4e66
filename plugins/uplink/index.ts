import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { readSecret } from '../../gateway/config/load.js';
import { errorCode, errorMessage } from '../../gateway/util/errors.js';
import { HealthTracker } from '../../gateway/util/health.js';
import { uplinkClientId } from '../../gateway/mqtt/client-ids.js';
import { dropRejectedPublishes, isRemovedPublish } from '../../gateway/mqtt/rejected-publish.js';
import { topicLevelProblem, topicNameProblem } from '../../gateway/mqtt/topics.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { VERSION } from '../../gateway/util/version.js';
import { SeenTransactions } from './seen-transactions.js';

/** HMAC-SHA256 over `${timestamp}.${transaction}.${command}.${JSON.stringify(args)}`, hex: how upstream signs a command. */
export function signCommand(secret: string, c: { timestamp: string; transaction: string; command: string; args?: unknown }): string {
  return createHmac('sha256', secret).update(`${c.timestamp}.${c.transaction}.${c.command}.${JSON.stringify(c.args ?? {})}`).digest('hex');
}

/**
 * The fleet uplink: forwards the gateway's topics to a central broker under a site prefix, QoS 1, through a
 * persistent outbox in LevelDB (an entry leaves only after the upstream PUBACK; the backlog drains in order after a
 * reconnect; bounded by count and age, oldest dropped first). Signed upstream commands are answered on
 * `<prefix>/response/<transaction>`, each run at most once (its transaction id is remembered in the store for the
 * whole timestamp window); a transaction id that cannot be a topic level is refused and logged, not answered.
 */
export function createUplink(ctx: PluginContext): Plugin & { stats(): Record<string, number> } {
  const cfg = ctx.config.uplink;
  const prefix = cfg.prefix ?? `plants/${ctx.config.site.id}`;
  const tracker = new HealthTracker(() => ctx.clock.now());
  const secret = readSecret(cfg.commandSecret, 'uplink.commandSecret');
  let client: MqttClient | undefined;
  let appending: Promise<unknown> = Promise.resolve();
  let draining = false;
  let stopped = false;
  let seen: SeenTransactions | undefined;
  let rejected = { dropped: 0 };
  /** Device (monotonic) time of the last packet from the central broker, and why the link was last given up. */
  let lastInbound = performance.now();
  let deadLink: string | undefined;
  const windowMs = cfg.commandWindowS * 1000;
  const counters = { forwarded: 0, queued: 0, droppedOverflow: 0, droppedAge: 0, droppedRejected: 0, commands: 0, refusedCommands: 0, duplicateCommands: 0, refusedTopics: 0 };

  /** Publishes upstream unless the topic breaks MQTT's rules (then logs why and resolves false). */
  const publishUpstream = async (topic: string, payload: string, options: Parameters<MqttClient['publishAsync']>[2]): Promise<boolean> => {
    const problem = topicNameProblem(topic);
    if (problem) {
      counters.refusedTopics++;
      ctx.log.warn({ topic: topic.slice(0, 200), reason: problem }, 'upstream publish refused: the topic breaks MQTT topic rules');
      return false;
    }
    await client!.publishAsync(topic, payload, options);
    return true;
  };

  const drain = async (): Promise<void> => {
    if (draining || stopped || !client?.connected) return;
    draining = true;
    try {
      for (;;) {
        const batch = await ctx.store.outboxPeek(100);
        if (!batch.length || !client?.connected) break;
        const tooOld = batch.filter((e) => ctx.clock.now() - e.at > cfg.maxAgeHours * 3_600_000);
        if (tooOld.length) {
          await ctx.store.outboxDelete(tooOld.map((e) => e.seq));
          counters.droppedAge += tooOld.length;
          continue;
        }
        for (const e of batch) {
          const sent = await publishUpstream(`${prefix}/${e.topic}`, e.payload, {
            qos: 1,
            retain: e.retain,
            properties: { userProperties: { pipeline: VERSION, site: ctx.config.site.id, seq: String(e.seq), queued_at: new Date(e.at).toISOString() } },
          }).catch((error: unknown) => {
            if (isRemovedPublish(error)) return false;
            throw error;
          });
          await ctx.store.outboxDelete([e.seq]);
          if (sent) counters.forwarded++;
          else counters.droppedRejected++;
        }
      }
      tracker.set('ok', `connected; ${counters.forwarded} forwarded`);
    } catch (error) {
      if (errorCode(error) === 'store_failed') tracker.set('degraded', `outbox store failure: ${errorMessage(error)}; backlog kept`, 'store_failed');
      else tracker.set('degraded', `upstream publish failed: ${errorMessage(error)}; backlog kept`);
    } finally {
      draining = false;
    }
  };

  const enqueue = (topic: string, payload: Buffer, retain: boolean): void => {
    appending = appending
      .then(async () => {
        await ctx.store.outboxAppend({ topic, payload: payload.toString('utf8'), retain, at: ctx.clock.now() });
        counters.queued++;
        const over = (await ctx.store.outboxCount()) - cfg.maxMessages;
        if (over > 0) {
          const oldest = await ctx.store.outboxPeek(over);
          await ctx.store.outboxDelete(oldest.map((e) => e.seq));
          counters.droppedOverflow += oldest.length;
        }
      })
      .catch((error: unknown) => {
        tracker.set('degraded', `message not queued: ${errorMessage(error)}`, errorCode(error) === 'store_failed' ? 'store_failed' : undefined);
        ctx.log.error({ err: errorMessage(error) }, 'outbox append failed');
      })
      .then(() => drain());
  };

  const onCommand = async (raw: Buffer): Promise<void> => {
    let body: { transaction?: unknown; command?: string; args?: Record<string, unknown>; timestamp?: string; signature?: string };
    try {
      body = JSON.parse(raw.toString('utf8')) ?? {};
    } catch {
      body = {};
    }
    if (typeof body !== 'object') body = {};
    const transaction = typeof body.transaction === 'string' ? body.transaction : 'unknown';
    const problem = topicLevelProblem(transaction);
    if (problem) {
      counters.refusedCommands++;
      ctx.log.warn({ transaction: transaction.slice(0, 200), reason: problem }, 'upstream command refused: its transaction id cannot be a topic level, so it gets no answer');
      return;
    }
    // The command's own transaction id wins over any `transaction` in the answer (the internal request's id).
    const respond = (payload: object) =>
      publishUpstream(`${prefix}/response/${transaction}`, JSON.stringify({ v: 1, ...payload, transaction, site: ctx.config.site.id, pipeline: VERSION }), { qos: 1 });
    const now = ctx.clock.now();
    const at = typeof body.timestamp === 'string' ? Date.parse(body.timestamp) : NaN;
    const timing = !Number.isFinite(at) ? 'timestamp missing or not a date' : at - now > windowMs ? `timestamp more than ${cfg.commandWindowS} s in the future` : now - at > windowMs ? `timestamp more than ${cfg.commandWindowS} s old` : null;
    const expected = secret && body.command && !timing ? signCommand(secret, { timestamp: body.timestamp!, transaction, command: body.command, args: body.args }) : '';
    const given = typeof body.signature === 'string' ? body.signature : '';
    if (!secret || timing || given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
      counters.refusedCommands++;
      await respond({ status: 'error', error: !secret ? 'no uplink.commandSecret configured: commands are refused' : (timing ?? 'bad signature') });
      return;
    }
    if (!(await seen!.claim(transaction, at + windowMs, now))) {
      counters.duplicateCommands++;
      ctx.log.warn({ transaction, command: body.command }, 'upstream command refused: this transaction already ran (replay or redelivery)');
      await respond({ status: 'error', duplicate: true, error: `transaction ${transaction} was already received: a signed command runs at most once` });
      return;
    }
    counters.commands++;
    const name = { replan: 'job/trigger', quota: 'plan/apply', 'reload-models': 'models/reload' }[body.command as string];
    if (!name) {
      await respond({ status: 'error', error: `unknown command ${JSON.stringify(body.command)}: replan, quota, reload-models` });
      return;
    }
    const request = body.command === 'replan' ? { id: 'planning' } : body.command === 'quota' ? { quota: body.args?.quota } : {};
    const answer = await ctx.mqtt.request(name, request, 30_000).catch((e: unknown) => ({ status: 'error', error: errorMessage(e) }));
    await respond(answer as object);
  };

  return {
    name: 'uplink',
    async start() {
      if (!cfg.url) throw new Error('uplink.url is not set');
      seen = await SeenTransactions.load(ctx.store);
      client = mqtt.connect(cfg.url, {
        protocolVersion: 5,
        clientId: uplinkClientId(ctx.config),
        clean: true,
        reconnectPeriod: cfg.reconnectMs,
        // A dead link (broker frozen, NAT dropped, cable pulled) is found within 1.5 × keepalive: mqtt.js pings when
        // nothing came in for keepalive and gives up half a keepalive later.
        keepalive: cfg.keepaliveS,
        username: cfg.username,
        password: readSecret(cfg.password, 'uplink.password'),
        ca: cfg.ca ? readFileSync(cfg.ca) : undefined,
        will: { topic: `${prefix}/bridge/state`, payload: Buffer.from(JSON.stringify({ v: 1, state: 'offline', pipeline: VERSION })), qos: 1, retain: true },
      });
      rejected = dropRejectedPublishes(client, ctx.log);
      client.on('connect', () => {
        tracker.set('ok', 'connected upstream; draining the outbox');
        void client!.subscribeAsync(`${prefix}/command/#`, { qos: 1 }).catch(() => undefined);
        void drain();
      });
      client.on('packetreceive', () => (lastInbound = performance.now()));
      client.on('close', () => {
        tracker.set('degraded', `${deadLink ?? 'upstream unreachable'}; queueing in the outbox`);
        deadLink = undefined;
      });
      client.on('error', (e) => {
        if (/keepalive timeout/i.test(errorMessage(e))) deadLink = `upstream link dead: nothing from the broker for ${1.5 * cfg.keepaliveS} s (keepalive ${cfg.keepaliveS} s); reconnecting`;
        tracker.set('degraded', deadLink ?? `upstream: ${errorMessage(e)}`);
      });
      client.on('message', (_topic, payload) => void onCommand(payload).catch((e: unknown) => ctx.log.warn({ err: errorMessage(e) }, 'upstream command not answered')));
      for (const filter of cfg.topics) ctx.mqtt.subscribe(filter, (topic, _parsed, raw) => enqueue(topic.slice(ctx.mqtt.base.length + 1), raw, true));
      tracker.set('starting', 'connecting upstream');
    },
    async stop() {
      stopped = true;
      await appending;
      await client?.endAsync();
    },
    health: () => {
      const details = { ...counters, droppedRejectedSends: rejected.dropped, keepaliveS: cfg.keepaliveS, silentForS: client?.connected ? Math.round((performance.now() - lastInbound) / 1000) : null };
      const h = tracker.get();
      // Connected on paper but silent past the keepalive deadline: the link is dead even before mqtt.js says so.
      if (h.state === 'ok' && client?.connected && performance.now() - lastInbound > 1.5 * cfg.keepaliveS * 1000 + 1000) {
        return { ...h, state: 'degraded', message: `upstream link silent for ${details.silentForS} s (keepalive ${cfg.keepaliveS} s): presumed dead; queueing in the outbox`, details };
      }
      return { ...h, details };
    },
    stats: () => ({ ...counters, droppedRejectedSends: rejected.dropped }),
  };
}

export const uplinkPlugin: PluginFactory = {
  name: 'uplink',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => config.uplink.enabled,
  create: createUplink,
};
