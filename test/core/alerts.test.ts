import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Alerts, healthAlerts, healthResolutions } from '../../gateway/core/alerts.js';
import { groupAlerts } from '../../gateway/http/alert-groups.js';
import { EventBus } from '../../gateway/core/event-bus.js';
import { EmbeddedBroker } from '../../gateway/mqtt/broker.js';
import { MqttConnection } from '../../gateway/mqtt/connection.js';
import type { SeriesStatus } from '../../gateway/series/status.js';
import { FakeClock } from '../../gateway/time/clock.js';
import { silent } from '../helpers/context.js';
import { subscriber, type Collected } from '../helpers/gateway.js';

const H = 3_600_000;
const internal = { username: 'gw', password: 'internal-secret' };

describe('alerts', () => {
  const clock = new FakeClock('2025-07-15T10:00:00Z');
  let broker: EmbeddedBroker;
  let mqtt: MqttConnection;
  let sub: Collected;
  beforeAll(async () => {
    broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, wsPort: 0, base: 'choco-edge', allowAnonymous: true, users: [], internal, reservedClientIds: [] }, silent);
    const { port } = await broker.start();
    mqtt = new MqttConnection({ url: `mqtt://127.0.0.1:${port}`, base: 'choco-edge', clientId: 'alerts-test', ...internal, reconnectMs: 200 }, clock, silent);
    await mqtt.start();
    sub = await subscriber(`mqtt://127.0.0.1:${port}`, 'choco-edge/alerts');
  });
  afterAll(async () => {
    await sub.client.endAsync();
    await mqtt.stop();
    await broker.stop();
  });

  it('publishes and keeps an alert, drops the same one within the hour, raises it again after', async () => {
    const bus = new EventBus();
    const alerts = new Alerts(() => mqtt, clock, silent);
    alerts.wire(bus);
    const at = clock.now();
    bus.emit('alert', { code: 'PRICE_SPIKE', level: 'warning', message: 'omie_es 250 EUR/MWh at 14:00', at });
    await sub.waitFor('choco-edge/alerts', (p) => p.code === 'PRICE_SPIKE');
    bus.emit('alert', { code: 'PRICE_SPIKE', level: 'warning', message: 'omie_es 250 EUR/MWh at 14:00', at: at + H - 1 });
    bus.emit('alert', { code: 'PRICE_SPIKE', level: 'warning', message: 'omie_es 260 EUR/MWh at 15:00', at: at + 1 });
    await sub.waitFor('choco-edge/alerts', (p) => p.message === 'omie_es 260 EUR/MWh at 15:00');
    expect(alerts.recent().map((a) => a.message)).toEqual(['omie_es 260 EUR/MWh at 15:00', 'omie_es 250 EUR/MWh at 14:00']);
    bus.emit('alert', { code: 'PRICE_SPIKE', level: 'warning', message: 'omie_es 250 EUR/MWh at 14:00', at: at + H });
    expect(alerts.recent()).toHaveLength(3);
    await vi.waitFor(() => expect(sub.messages.filter((m) => m.payload.message === 'omie_es 250 EUR/MWh at 14:00')).toHaveLength(2), { timeout: 60_000 });
  });

  it('turns a plugin that failed to start into a critical PLUGIN_DOWN alert, and acknowledges by id', async () => {
    const bus = new EventBus();
    const alerts = new Alerts(() => mqtt, clock, silent);
    alerts.wire(bus);
    bus.emit('plugin.failed', { plugin: 'aemet', error: 'failed to start: no key' });
    const published = await sub.waitFor('choco-edge/alerts', (p) => p.code === 'PLUGIN_DOWN');
    expect(published).toMatchObject({ level: 'critical', message: 'aemet: failed to start: no key' });
    const [kept] = alerts.recent();
    expect(alerts.acknowledge(kept!.id, 'token')).toMatchObject({ ackedAt: clock.now(), ackedBy: 'token' });
    expect(alerts.acknowledge(kept!.id + 1, 'token')).toBeUndefined();
  });

  it('raises STALE_INPUT only for stale critical series, PLUGIN_DOWN for failed plugins and STORE_DAMAGED for a damaged store', () => {
    const status = (id: string, stale: boolean, critical: boolean): SeriesStatus => ({
      id, unit: 'EUR/MWh', description: id, sources: ['omie'], critical, source: null, fetchedAt: null, ageMs: null, current: null, horizonEnd: null, stale, staleReason: stale ? 'no data stored yet' : null,
    });
    const out = healthAlerts(
      {
        series: [status('omie_es', true, true), status('obs.combined.temp', true, false), status('pvpc_2_0td', false, true)],
        plugins: { omie: { state: 'degraded', message: 'retrying' }, aemet: { state: 'failed', message: 'no key' } },
        store: { state: 'failed', message: 'store damaged', dir: '/tmp/store', records: null, expectedRecords: null, losses: [], writeFailure: null, lastRepair: null },
      },
      7,
    );
    expect(out).toEqual([
      { code: 'STALE_INPUT', level: 'warning', message: 'omie_es: no data stored yet', at: 7 },
      { code: 'PLUGIN_DOWN', level: 'critical', message: 'aemet: no key', at: 7 },
      { code: 'STORE_DAMAGED', level: 'critical', message: 'store damaged', at: 7 },
    ]);
  });

  it('resolves a STALE_INPUT once the health report finds the input fresh, and raises it again at once if it goes stale', async () => {
    const alerts = new Alerts(() => mqtt, clock, silent);
    const status = (id: string, stale: boolean): SeriesStatus => ({
      id, unit: 'EUR/MWh', description: id, sources: ['omie'], critical: true, source: null, fetchedAt: null, ageMs: null, current: null, horizonEnd: null, stale, staleReason: stale ? 'no data stored yet' : null,
    });
    const store = { state: 'ok' as const, message: 'ok', dir: '/tmp/store', records: null, expectedRecords: null, losses: [], writeFailure: null, lastRepair: null };
    const t0 = clock.now();
    for (const a of healthAlerts({ series: [status('omie_es', true), status('pvpc_2_0td', true)], plugins: {}, store }, t0)) await alerts.raise(a);
    expect(groupAlerts(alerts.recent()).map((g) => g.resolved_at)).toEqual([null, null]);
    // Minutes later omie_es has data, pvpc_2_0td still has none.
    const report = { series: [status('omie_es', false), status('pvpc_2_0td', true)], plugins: { aemet: { state: 'ok' as const, message: 'fine' } }, store };
    expect(alerts.resolve(healthResolutions(report), t0 + 5 * 60_000)).toBe(1);
    const groups = groupAlerts(alerts.recent());
    expect(groups.find((g) => g.subject === 'omie_es')!.resolved_at).toBe('2025-07-15T10:05:00Z');
    expect(groups.find((g) => g.subject === 'pvpc_2_0td')!.resolved_at).toBeNull();
    // Stale again within the hour: raised anew (not swallowed by the repeat window), and the group is current again.
    await alerts.raise({ code: 'STALE_INPUT', level: 'warning', message: 'omie_es: no data stored yet', at: t0 + 10 * 60_000 });
    const again = groupAlerts(alerts.recent()).find((g) => g.subject === 'omie_es')!;
    expect(again).toMatchObject({ count: 2, resolved_at: null });
  });
});
