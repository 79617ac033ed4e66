import { readFileSync } from 'node:fs';
import { isIP, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import './packet-cache.js';
import type { Clock } from '../time/clock.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { dropRejectedPublishes } from './rejected-publish.js';
import { PAYLOAD_VERSION, topicFilterProblem, topicNameProblem, topics, type PayloadFor } from './topics.js';

export interface ConnectionOptions {
  url: string;
  base: string;
  clientId: string;
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  reconnectMs: number;
}

type Handler = (topic: string, payload: unknown, raw: Buffer) => void;

/** The gateway's one MQTT client: LWT, retained-state republish after reconnect, typed publish by relative topic. */
export class MqttConnection {
  private client?: MqttClient;
  private readonly retained = new Map<string, string>();
  /** Full topics whose retained message was cleared while disconnected: sent empty and retained on the next connect. */
  private readonly clearedWhileAway = new Set<string>();
  private readonly handlers: Array<{ filter: string; handler: Handler }> = [];
  private stopping = false;
  private readonly pending = new Map<string, (body: unknown) => void>();
  private responsesSubscribed = false;
  published = 0;
  received = 0;
  ackTimeoutMs = 5_000;
  connects = 0;
  /** Publishes refused before sending because their topic breaks MQTT's rules (logged with the reason). */
  refusedTopics = 0;
  private rejected = { dropped: 0 };

  constructor(
    private readonly options: ConnectionOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  get connected(): boolean {
    return Boolean(this.client?.connected);
  }

  get base(): string {
    return this.options.base;
  }

  /** Connects; resolves when connected or after `waitMs`, so a broker that is down does not block start-up. */
  async start(waitMs = 3_000): Promise<void> {
    const o = this.options;
    const url = new URL(o.url);
    const clientOptions: IClientOptions = {
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      reconnectPeriod: o.reconnectMs,
      connectTimeout: 10_000,
      clean: true,
      // The broker sends the will at a time the gateway cannot know: it carries `at: null`, not the time of connecting.
      will: { topic: this.full(topics.state), payload: Buffer.from(JSON.stringify({ v: PAYLOAD_VERSION, state: 'offline', at: null })), qos: 1, retain: true },
    };
    const tlsOptions = {
      ca: o.ca ? readFileSync(o.ca) : undefined,
      cert: o.cert ? readFileSync(o.cert) : undefined,
      key: o.key ? readFileSync(o.key) : undefined,
      rejectUnauthorized: o.rejectUnauthorized ?? true,
    };
    const port = Number(url.port) || (url.protocol === 'mqtts:' || url.protocol === 'tls:' ? 8883 : 1883);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (url.protocol === 'mqtt:' || url.protocol === 'tcp:') {
      this.client = new MqttClient(() => netConnect({ host, port, noDelay: true }) as never, clientOptions);
    } else if (url.protocol === 'mqtts:' || url.protocol === 'tls:') {
      this.client = new MqttClient(() => {
        const socket = tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...tlsOptions });
        socket.setNoDelay(true);
        return socket as never;
      }, clientOptions);
    } else {
      this.client = mqtt.connect(o.url, { ...clientOptions, ...tlsOptions });
    }
    const client = this.client;
    this.rejected = dropRejectedPublishes(client, this.log);
    client.on('connect', () => {
      this.connects++;
      this.log.info({ url: o.url, connects: this.connects }, 'MQTT connected');
      client.publish(this.full(topics.state), JSON.stringify(this.statePayload('online')), { qos: 1, retain: true });
      for (const [topic, payload] of this.retained) if (topic !== this.full(topics.state)) client.publish(topic, payload, { qos: 1, retain: true });
      // Retained messages cleared while away: the broker still holds them until it gets the empty payload.
      for (const topic of this.clearedWhileAway) client.publish(topic, '', { qos: 1, retain: true });
      this.clearedWhileAway.clear();
    });
    client.on('close', () => {
      if (!this.stopping) this.log.warn({ url: o.url }, 'MQTT connection closed; reconnecting');
    });
    client.on('error', (error) => this.log.warn({ err: errorMessage(error) }, 'MQTT error'));
    client.on('message', (topic, payload) => {
      this.received++;
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      for (const h of this.handlers) if (matches(h.filter, topic)) h.handler(topic, parsed, payload);
    });
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, waitMs);
      client.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /**
   * Publishes to `<base>/<topic>`. Retained messages are remembered and sent again after every reconnect,
   * so while disconnected they are only remembered. Never waits on a broker that is away: resolves on
   * PUBACK, or at once when disconnected, or after `ackTimeoutMs`.
   */
  publish<T extends string>(topic: T, payload: PayloadFor<T>, options: { retain?: boolean; qos?: 0 | 1 } = {}): Promise<void> {
    const full = this.full(topic);
    if (this.refuseTopic(full)) return Promise.resolve();
    const text = JSON.stringify(payload);
    if (options.retain) {
      this.retained.set(full, text);
      this.clearedWhileAway.delete(full);
    }
    const client = this.client;
    if (!client || (options.retain && !client.connected)) return Promise.resolve();
    this.published++;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.ackTimeoutMs);
      client.publish(full, text, { qos: options.qos ?? 1, retain: options.retain ?? false }, (error) => {
        clearTimeout(timer);
        if (error) this.log.debug({ topic: full, err: errorMessage(error) }, 'publish not delivered');
        resolve();
      });
      if (!client.connected) {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /**
   * Deletes the retained message of `<base>/<topic>` on the broker (MQTT: an empty retained payload) and forgets it,
   * so it is not sent again after a reconnect. While disconnected the clearing is remembered and sent on the next
   * connect. Resolves on PUBACK, at once when disconnected, or after `ackTimeoutMs`; never rejects.
   */
  clearRetained(topic: string): Promise<void> {
    const full = this.full(topic);
    if (this.refuseTopic(full)) return Promise.resolve();
    this.retained.delete(full);
    const client = this.client;
    if (!client?.connected) {
      this.clearedWhileAway.add(full);
      return Promise.resolve();
    }
    this.published++;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.ackTimeoutMs);
      client.publish(full, '', { qos: 1, retain: true }, (error) => {
        clearTimeout(timer);
        if (error) {
          this.clearedWhileAway.add(full);
          this.log.debug({ topic: full, err: errorMessage(error) }, 'clearing a retained message not delivered');
        }
        resolve();
      });
    });
  }

  /** For topics outside the base (Home Assistant discovery): retained ones are republished after reconnects too. */
  publishAbsolute(topic: string, payload: unknown, options: { retain?: boolean } = {}): Promise<void> {
    if (this.refuseTopic(topic)) return Promise.resolve();
    const text = JSON.stringify(payload);
    if (options.retain) this.retained.set(topic, text);
    const client = this.client;
    if (!client?.connected) return Promise.resolve();
    this.published++;
    return new Promise((resolve) => client.publish(topic, text, { qos: 1, retain: options.retain ?? false }, () => resolve()));
  }

  /** Sends `<base>/bridge/request/<name>` and waits for the matching response (internal requests, e.g. from the uplink). */
  request(name: string, payload: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
    const transaction = `req-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${name} within ${timeoutMs} ms`)), timeoutMs);
      this.pending.set(transaction, (body) => {
        clearTimeout(timer);
        resolve(body);
      });
      if (!this.responsesSubscribed) {
        this.responsesSubscribed = true;
        this.subscribe('bridge/response/#', (_t, body) => {
          const tx = (body as { transaction?: string } | undefined)?.transaction;
          if (tx && this.pending.has(tx)) {
            this.pending.get(tx)!(body);
            this.pending.delete(tx);
          }
        });
      }
      this.client?.publish(this.full(topics.request(name)), JSON.stringify({ ...payload, transaction }), { qos: 1 });
    });
  }

  /** Subscribes to `<base>/<filter>`; the handler gets the parsed JSON (undefined when not JSON) and the raw bytes. */
  subscribe(filter: string, handler: Handler): void {
    this.subscribeAbsolute(this.full(filter), handler);
  }

  /** Subscribes to an absolute filter outside the base (Home Assistant's `homeassistant/status`); checked like `subscribe`. */
  subscribeAbsolute(filter: string, handler: Handler): void {
    const problem = topicFilterProblem(filter);
    if (problem) throw new Error(`cannot subscribe to ${JSON.stringify(filter)}: ${problem}`);
    this.handlers.push({ filter, handler });
    this.client?.subscribe(filter, { qos: 1 });
  }

  full(topic: string): string {
    return `${this.options.base}/${topic}`;
  }

  /** Publishes offline state and disconnects cleanly. */
  async stop(): Promise<void> {
    this.stopping = true;
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await new Promise<void>((resolve) =>
        client.publish(this.full(topics.state), JSON.stringify(this.statePayload('offline')), { qos: 1, retain: true }, () => resolve()),
      );
    }
    await new Promise<void>((resolve) => client.end(!client.connected, {}, () => resolve()));
  }

  /** Publishes dropped because the broker closed the connection each time they were sent (see rejected-publish.ts). */
  get droppedRejected(): number {
    return this.rejected.dropped;
  }

  private refuseTopic(topic: string): boolean {
    const problem = topicNameProblem(topic);
    if (!problem) return false;
    this.refusedTopics++;
    this.log.warn({ topic: topic.slice(0, 200), reason: problem }, 'publish refused: the topic breaks MQTT topic rules');
    return true;
  }

  private statePayload(state: 'online' | 'offline'): PayloadFor<'bridge/state'> {
    return { v: PAYLOAD_VERSION, state, at: new Date(this.clock.now()).toISOString() };
  }
}

/** MQTT topic filter matching with + and #. */
export function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
