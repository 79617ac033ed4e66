import { esiosPlugin } from '../../plugins/esios/index.js';
import { daySourceContract } from '../helpers/day-source-contract.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaySource } from '../../gateway/sources/day-source.js';
import { FixtureServer, recordedRoutes } from '../helpers/fixture-server.js';
import { pluginContext, testConfig } from '../helpers/context.js';

daySourceContract({
  factory: esiosPlugin,
  now: '2021-10-31T10:00:00Z',
  day: '2021-10-31',
  series: 'pvpc',
  slots: 25,
  pathPrefix: '/indicators',
  malformed: { body: JSON.stringify({ indicator: { id: 1001, values: [{ value: 'n/a', datetime: '2021-10-31T00:00:00.000+02:00', geo_id: 8741 }] } }) },
});


describe('esios token', () => {
  const server = new FixtureServer();
  beforeAll(async () => {
    await server.start();
    server.routes = recordedRoutes();
  });
  afterAll(() => server.stop());

  it('sends the token as x-api-key, and the nightly check reports a refused token without printing it', async () => {
    const good = await pluginContext(testConfig(server.base), '2024-03-09T10:00:00Z');
    const source = esiosPlugin.create(good) as DaySource;
    await expect(source.jobs!.tokenCheck!()).resolves.toEqual({ summary: 'esios: token accepted' });
    expect(server.requests.at(-1)!.headers['x-api-key']).toBe('test-token');
    await good.close();

    const bad = await pluginContext(testConfig(server.base, { sources: { esios: { token: 'wrong-token-value' } } }), '2024-03-09T10:00:00Z');
    const refused = esiosPlugin.create(bad) as DaySource;
    const error = (await refused.jobs!.tokenCheck!().catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/token refused \(401\/403\)/);
    expect(error.message).not.toContain('wrong-token-value');
    await bad.close();
  });

  it('is disabled with a reason when no token is configured', () => {
    const config = testConfig(server.base, { sources: { esios: { token: undefined } } });
    delete (config.sources.esios as { token?: unknown }).token;
    expect(esiosPlugin.enabled(config)).toEqual({ enabled: false, reason: expect.stringMatching(/no token/), misconfigured: true });
  });
});
