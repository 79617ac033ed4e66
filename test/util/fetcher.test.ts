import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SystemClock } from '../../gateway/time/clock.js';
import { GatewayError } from '../../gateway/util/errors.js';
import { Fetcher, parseRetryAfter, redactUrl } from '../../gateway/util/fetcher.js';
import { FixtureServer } from '../helpers/fixture-server.js';

const server = new FixtureServer();
beforeAll(() => server.start());
afterAll(() => server.stop());

const fetcher = (over: Partial<ConstructorParameters<typeof Fetcher>[1]> = {}) =>
  new Fetcher(new SystemClock(), { timeoutMs: 300, retries: 3, backoffMs: 5, maxBackoffMs: 20, ...over });

describe('HTTP fetcher (real local server)', () => {
  it('retries 500 and 503 and then succeeds', async () => {
    server.script('/a', { status: 500, body: 'boom' }, { status: 503, body: 'busy' }, { body: '{"ok":true}' });
    const r = await fetcher().get({ url: `${server.base}/a` });
    expect(r.attempts).toBe(3);
    expect(r.body.toString()).toBe('{"ok":true}');
  });

  it('honours Retry-After on 429', async () => {
    server.script('/b', { status: 429, headers: { 'retry-after': '1' } }, { body: 'ok' });
    const started = Date.now();
    const r = await fetcher({ maxBackoffMs: 2000 }).get({ url: `${server.base}/b` });
    expect(r.attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('gives up after the retries with a timeout error', async () => {
    server.script('/c', ...Array(4).fill({ delayMs: 600, body: 'late' }));
    const error = await fetcher({ retries: 1 }).get({ url: `${server.base}/c` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe('timeout');
    expect(server.countFor('/c')).toBe(2);
  });

  it('abandons the request in flight and the retry backoff when the gateway stops, instead of waiting them out', async () => {
    const stopping = new AbortController();
    const patient = new Fetcher(new SystemClock(), { timeoutMs: 600_000, retries: 3, backoffMs: 600_000, maxBackoffMs: 600_000 }, Math.random, stopping.signal);
    // In flight: the server answers after ten minutes.
    server.script('/stop-a', { delayMs: 600_000, body: 'late' });
    const hanging = patient.get({ url: `${server.base}/stop-a?token=secret` }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(server.countFor('/stop-a')).toBe(1), { timeout: 60_000, interval: 20 });
    stopping.abort();
    const error = (await hanging) as GatewayError;
    expect(error).toBeInstanceOf(GatewayError);
    expect(error.message).toMatch(/stop-a\?token=\*\*\*: abandoned, the gateway is stopping/);
    expect(error.transient).toBe(true);
    // In the backoff after a 503: no second attempt, and a stopped fetcher makes no request at all.
    const later = new AbortController();
    const backingOff = new Fetcher(new SystemClock(), { timeoutMs: 600_000, retries: 3, backoffMs: 600_000, maxBackoffMs: 600_000 }, () => 1, later.signal);
    server.script('/stop-b', { status: 503, body: 'busy' }, { body: 'ok' });
    const waiting = backingOff.get({ url: `${server.base}/stop-b` }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(server.countFor('/stop-b')).toBe(1), { timeout: 60_000, interval: 20 });
    later.abort();
    expect(((await waiting) as Error).message).toMatch(/abandoned, the gateway is stopping/);
    expect(server.countFor('/stop-b')).toBe(1);
    expect(((await backingOff.get({ url: `${server.base}/stop-b` }).catch((e: unknown) => e)) as Error).message).toMatch(/abandoned/);
    expect(server.countFor('/stop-b')).toBe(1);
  });

  it('does not retry permanent 4xx and names them', async () => {
    server.script('/d', { status: 404, body: 'nope' });
    const error = (await fetcher().get({ url: `${server.base}/d` }).catch((e: unknown) => e)) as GatewayError;
    expect(error.code).toBe('client_error');
    expect(error.message).toMatch(/HTTP 404 \(permanent, not retried\)/);
    expect(server.countFor('/d')).toBe(1);
    server.script('/e', { status: 401, headers: { 'content-type': 'text/plain' }, body: 'HTTP Token: Access denied.' });
    expect(((await fetcher().get({ url: `${server.base}/e` }).catch((e: unknown) => e)) as GatewayError).code).toBe('auth_failed');
  });

  it('reports a dropped connection as unreachable and a closed port likewise', async () => {
    server.script('/f', ...Array(2).fill({ destroy: true }));
    expect(((await fetcher({ retries: 1 }).get({ url: `${server.base}/f` }).catch((e: unknown) => e)) as GatewayError).code).toBe('unreachable');
    const closed = await new FixtureServer().start();
    const url = `${closed.base}/x`;
    await closed.stop();
    expect(((await fetcher({ retries: 0 }).get({ url }).catch((e: unknown) => e)) as GatewayError).message).toMatch(/unreachable \(ECONNREFUSED\)/);
  });

  it('keeps keys out of messages', () => {
    expect(redactUrl('https://x/api?api_key=SECRET&a=1')).toBe('https://x/api?api_key=***&a=1');
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
  });
});
