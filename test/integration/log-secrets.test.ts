import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../gateway/time/clock.js';
import { Gateway } from '../../gateway/controller.js';
import { createLogger } from '../../gateway/util/log.js';
import { testConfig } from '../helpers/context.js';

/**
 * Issue #28.6: the HTTP token sent as `?token=` appeared in 11 info-level lines. Every log line at every level, from
 * every module, is searched for every secret the requests and the config carried, in whatever form they came.
 */
describe('no secret in any log line', () => {
  it('masks ?token=, Authorization headers, API keys in URLs, URL passwords and every configured secret', async () => {
    const raw: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        raw.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({ level: 'trace', pretty: false, modules: {} }, sink);
    const secrets = { http: 'http-secret-token-1', esios: 'esios-secret-token-2', aemet: 'aemet-secret-key-3', owm: 'owm-secret-key-4', query: 'someone-elses-token-5', header: 'bearer-guess-6', mqtt: 'mqtt-url-password-7' };
    const config = testConfig('http://127.0.0.1:9', {
      log: { level: 'trace' },
      http: { token: secrets.http },
      sources: { esios: { token: secrets.esios }, aemet: { enabled: true, apiKey: secrets.aemet, baseUrl: 'http://127.0.0.1:9' }, openweathermap: { enabled: true, apiKey: secrets.owm, baseUrl: 'http://127.0.0.1:9' } },
    });
    const gw = new Gateway({ config, clock: new FakeClock('2025-01-15T10:00:00Z'), log });
    await gw.start();
    try {
      const url = gw.http!.url;
      // The right token and a wrong one, in the query of refused, missing and accepted routes.
      for (const token of [secrets.http, secrets.query]) {
        await fetch(`${url}/api/alerts/1/ack?token=${token}`, { method: 'POST' });
        await fetch(`${url}/no-such-page?token=${token}&x=1`);
        await fetch(`${url}/health?access_token=${token}`);
        await fetch(`${url}/api/jobs/priceIngestion/run?api_key=${token}`, { method: 'POST', headers: { authorization: `Bearer ${secrets.header}` } });
      }
      await fetch(`${url}/api/alerts/1/ack`, { method: 'POST', headers: { authorization: `Bearer ${secrets.http}` } });
      // An MQTT login whose password is in the URL (refused: no such user).
      await mqtt.connectAsync(`mqtt://intruder:${secrets.mqtt}@127.0.0.1:${gw.brokerPorts!.port}`, { reconnectPeriod: 0, connectTimeout: 5000 }).then((c) => c.endAsync(), () => undefined);
      // A direct log line carrying them, as a plugin's error might.
      gw.log.warn({ err: new Error(`GET https://api.example/x?appid=${secrets.owm} failed`), target: `https://u:${secrets.mqtt}@broker.example/` }, `request with Bearer ${secrets.header} failed`);
    } finally {
      await gw.stop();
    }
    const text = raw.join('');
    expect(text.length).toBeGreaterThan(1000);
    for (const [name, secret] of Object.entries(secrets)) expect(text.includes(secret), `${name} secret in the log`).toBe(false);
    expect(text).toMatch(/\?token=\*\*\*/); // the request lines are there, masked
  }, 120_000);
});
