import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/controller.js';
import { testConfig } from '../helpers/context.js';
import { FixtureServer } from '../helpers/fixture-server.js';
import { startGateway } from '../helpers/gateway.js';

describe('/healthz names the real cause when a later request in the same poll succeeds', () => {
  const server = new FixtureServer();
  let gw: Gateway;
  beforeAll(async () => {
    await server.start();
    server.routes = [
      (_req, url) => {
        if (!url.pathname.endsWith('/datos/mercados/precios-mercados-tiempo-real')) return undefined;
        // Today: a maintenance page with HTTP 200; tomorrow: "not available yet".
        if (url.searchParams.get('start_date')?.startsWith('2026-11-30')) return { headers: { 'content-type': 'text/html' }, body: '<html><body>Servicio en mantenimiento</body></html>' };
        return { status: 400, body: JSON.stringify({ errors: [{ status: '400', detail: 'Los datos solicitados no están disponibles en este momento.' }] }) };
      },
    ];
    const config = testConfig(server.base, { sources: { esios: { enabled: false }, omie: { enabled: false } } });
    ({ gw } = await startGateway(config, '2026-11-30T20:00:00Z')); // 21:00 in Madrid: today and tomorrow are polled
  });
  afterAll(async () => {
    await gw?.stop();
    await server.stop();
  });

  it('the HTML page for today, not "2026-12-01 not published yet"', async () => {
    const body = await (await fetch(`${gw.http!.url}/healthz`)).json();
    expect(body.plugins.ree).toMatchObject({ code: 'malformed_payload' });
    expect(body.plugins.ree.message).toMatch(/^2026-11-30: ree: malformed payload: got an HTML page/);
    expect(body.plugins.ree.details.consecutiveFailures).toBeGreaterThan(0);
    const pvpc = body.reasons.find((r: string) => r.startsWith('series pvpc stale'));
    expect(pvpc).toMatch(/ree: 2026-11-30: ree: malformed payload: got an HTML page/);
    expect(pvpc).not.toMatch(/not published yet/);
  });
});
