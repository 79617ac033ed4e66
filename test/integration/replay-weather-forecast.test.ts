import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FakeClock } from '../../gateway/time/clock.js';
import type { Gateway } from '../../gateway/controller.js';
import { testConfig } from '../helpers/context.js';
import { startGateway, subscriber, type Collected } from '../helpers/gateway.js';

const H = 3_600_000;

// The demo's sources only (replay prices + replayed Seville weather), on an injected clock: no live source is configured.
describe('replayed weather gives the demo a forecast (the recording is the simulated future)', () => {
  let gw: Gateway;
  let clock: FakeClock;
  let http: string;
  let sub: Collected;
  const NOW = '2018-03-27T10:30:00Z';

  beforeAll(async () => {
    const config = testConfig('http://127.0.0.1:9', {
      sources: { ree: { enabled: false }, esios: { enabled: false }, omie: { enabled: false }, aemet: { enabled: false }, openweathermap: { enabled: false }, replay: { enabled: true } },
    });
    ({ gw, clock } = await startGateway(config, NOW));
    http = gw.http!.url;
    sub = await subscriber(`mqtt://127.0.0.1:${gw.brokerPorts!.port}`, 'choco-edge/weather/forecast');
    await gw.scheduler.trigger('weatherIngestion');
  });
  afterAll(async () => {
    await sub?.client.endAsync();
    await gw?.stop();
  });

  it('publishes a labelled forecast from the recording, so fc.combined.temp is never "no data stored yet"', async () => {
    const forecast = await sub.waitFor('choco-edge/weather/forecast', (p) => p.slots.some((s: { values: object }) => Object.keys(s.values).length));
    const filled = forecast.slots.filter((s: { values: { temp?: unknown } }) => s.values.temp);
    expect(filled.length).toBeGreaterThanOrEqual(47);
    expect(filled[0].values.temp.source).toBe('replay/kaggle-seville (recorded, perfect forecast)');
    const health = await vi.waitFor(async () => {
      const h = await (await fetch(`${http}/healthz`)).json();
      const weatherReasons = (h.reasons as string[]).filter((r) => /series (fc|obs)\./.test(r));
      if (weatherReasons.length) throw new Error(`weather still in the health reasons: ${JSON.stringify(weatherReasons)}`);
      return h;
    }, { timeout: 60_000, interval: 100 });
    expect(health.reasons.join('\n')).not.toMatch(/fc\.combined\.temp stale/);
  });

  it('publishes the forecast only when it changes', async () => {
    await sub.waitFor('choco-edge/weather/forecast', (p) => p.slots.some((s: { values: object }) => Object.keys(s.values).length));
    const count = () => sub.messages.filter((m) => m.topic === 'choco-edge/weather/forecast').length;
    const before = count();
    // Same simulated hour, same recording: nothing new to say.
    await gw.scheduler.trigger('weatherIngestion');
    await gw.scheduler.trigger('weatherIngestion');
    // An hour later the forecast window has moved: exactly one new message (none from the same-hour runs, which came first).
    await clock.advance(H);
    await gw.scheduler.trigger('weatherIngestion');
    await vi.waitFor(() => expect(count()).toBeGreaterThan(before), { timeout: 60_000, interval: 50 });
    expect(count()).toBe(before + 1);
  });
});
