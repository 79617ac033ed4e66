import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { MqttConnection } from './connection.js';
import { PAYLOAD_VERSION, topics, type Payloads } from './topics.js';

export type RequestHandler = (payload: Record<string, unknown>) => Promise<unknown>;

/** `<base>/bridge/request/<name>` → handler → `<base>/bridge/response/<name>` with the transaction echoed. */
export class Bridge {
  private readonly handlers = new Map<string, RequestHandler>();
  requests = 0;

  constructor(
    private readonly mqtt: MqttConnection,
    private readonly log: Logger,
  ) {}

  handle(name: string, handler: RequestHandler): void {
    this.handlers.set(name, handler);
  }

  start(): void {
    const prefix = this.mqtt.full('bridge/request/');
    this.mqtt.subscribe(topics.requestWildcard, (topic, payload, raw) => {
      void this.onRequest(topic.slice(prefix.length), payload, raw);
    });
  }

  async publishInfo(info: Omit<Payloads['bridge/info'], 'v'>): Promise<void> {
    await this.mqtt.publish(topics.info, { v: PAYLOAD_VERSION, ...info }, { retain: true });
  }

  async publishHealth(health: Omit<Payloads['bridge/health'], 'v'>): Promise<void> {
    await this.mqtt.publish(topics.health, { v: PAYLOAD_VERSION, ...health }, { retain: true });
  }

  private async onRequest(name: string, payload: unknown, raw: Buffer): Promise<void> {
    this.requests++;
    let responseTopic: ReturnType<typeof topics.response>;
    try {
      responseTopic = topics.response(name);
    } catch (error) {
      this.log.warn({ request: name.slice(0, 200), err: errorMessage(error) }, 'MQTT request refused: no valid response topic');
      return;
    }
    const respond = (body: Omit<Payloads['bridge/response/+'], 'v'>): Promise<void> => this.mqtt.publish(responseTopic, { v: PAYLOAD_VERSION, ...body });
    const transaction =
      payload && typeof payload === 'object' && typeof (payload as { transaction?: unknown }).transaction === 'string'
        ? (payload as { transaction: string }).transaction
        : null;
    if (payload === undefined || typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      await respond({ transaction, status: 'error', error: `request body must be a JSON object (got ${raw.length} bytes that are not)` });
      return;
    }
    const handler = this.handlers.get(name);
    if (!handler) {
      await respond({ transaction, status: 'error', error: `unknown request ${JSON.stringify(name)}; known: ${[...this.handlers.keys()].join(', ')}` });
      return;
    }
    try {
      const data = await handler(payload as Record<string, unknown>);
      await respond({ transaction, status: 'ok', data });
    } catch (error) {
      this.log.info({ request: name, err: errorMessage(error) }, 'MQTT request refused');
      await respond({ transaction, status: 'error', error: errorMessage(error) });
    }
  }
}
