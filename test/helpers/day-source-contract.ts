import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DaySource } from '../../gateway/sources/day-source.js';
import type { PluginFactory } from '../../gateway/core/plugin-api.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { FixtureServer, recordedRoutes, type Reply } from './fixture-server.js';
import { pluginContext, testConfig, type TestContext } from './context.js';

export interface ContractCase {
  factory: PluginFactory;
  /** A time at which the recorded day is "today" (before the next day's publication). */
  now: string;
  day: string;
  series: string;
  slots: number;
  /** Path prefix of the source's requests on the fixture server. */
  pathPrefix: string;
  /** A truncated or otherwise broken body for this source. */
  malformed: Reply;
}

/** The contract every day-published price source must keep, run against a real local HTTP server. */
export function daySourceContract(c: ContractCase): void {
  describe(`${c.factory.name} source contract`, () => {
    const server = new FixtureServer();
    let ctx: TestContext;
    let source: DaySource;
    beforeAll(async () => {
      await server.start();
      server.routes = recordedRoutes();
      ctx = await pluginContext(testConfig(server.base), c.now);
      source = c.factory.create(ctx) as DaySource;
      await source.start();
    });
    afterAll(async () => {
      await source.stop();
      await ctx.close();
      await server.stop();
    });

    it('ingests the recorded day whole, in UTC slots, with its source', async () => {
      const r = await source.poll();
      expect(r.summary).toContain(c.day);
      const { start, end } = localDayRange(c.day);
      const slots = await ctx.store.read(c.series, start, end);
      expect(slots).toHaveLength(c.slots);
      expect(slots[0]!.start).toBe(start);
      expect(slots.at(-1)!.end).toBe(end);
      expect(slots.every((s) => s.source === c.factory.name)).toBe(true);
      expect(ctx.events.some((e) => e.series === c.series && e.count === c.slots)).toBe(true);
      expect(source.health().state).toBe('ok');
    });

    it('does not ask again for a day that is complete, and re-ingesting never duplicates', async () => {
      const before = server.countFor(c.pathPrefix);
      await source.poll();
      expect(server.countFor(c.pathPrefix)).toBe(before);
      await source.ingestDay(c.day);
      expect(await ctx.store.count(c.series)).toBe(c.slots);
    });

    it('refuses a malformed payload whole and keeps the stored day as it was', async () => {
      const { start, end } = localDayRange(c.day);
      const before = await ctx.store.read(c.series, start, end);
      server.script(c.pathPrefix, c.malformed);
      await expect(source.ingestDay(c.day)).rejects.toThrow(/malformed payload|HTML page|invalid JSON|truncated/);
      expect(await ctx.store.read(c.series, start, end)).toEqual(before);
      expect(source.health().code).toBe('malformed_payload');
    });

    it('retries 5xx and reports an unreachable source honestly', async () => {
      const attempts = ctx.config.fetch.retries + 1;
      const before = server.countFor(c.pathPrefix);
      server.script(c.pathPrefix, ...Array(attempts).fill({ status: 502, body: 'bad gateway' }));
      await expect(source.ingestDay(c.day)).rejects.toThrow(/HTTP 502/);
      // A source that asks for several payloads a day (ESIOS indicators) goes on with the others.
      expect(server.countFor(c.pathPrefix) - before).toBeGreaterThanOrEqual(attempts);
      const h = source.health();
      expect(h.message).toMatch(/^unreachable, retrying/);
      expect(h.code).toBe('server_error');
      expect((h.details as { consecutiveFailures: number }).consecutiveFailures).toBeGreaterThan(0);
      await source.ingestDay(c.day);
      expect(source.health().state).toBe('ok');
    });

    it('backfills missing past days one by one and says which ones could not be had', async () => {
      const later = await pluginContext(testConfig(server.base), new Date(Date.parse(c.now) + 86_400_000).toISOString());
      const fresh = c.factory.create(later) as DaySource;
      try {
        const r = await fresh.backfill(2);
        expect(r.summary).toContain(`filled ${c.day}`);
        expect(r.summary).toMatch(/not available at the source|failed/);
        const { start, end } = localDayRange(c.day);
        expect(await later.store.count(c.series, start, end)).toBe(c.slots);
        expect((await fresh.backfill(1)).summary).toMatch(/nothing missing/);
      } finally {
        await later.close();
      }
    });

    it('ends a backfill at its pause between days when the gateway stops, without waiting the pause out', async () => {
      // Two days later, with ten minutes between days on a clock that never moves: only a stop can end the pause.
      const later = await pluginContext(testConfig(server.base, { sources: { [c.factory.name]: { backfillIntervalMs: 600_000 } } }), new Date(Date.parse(c.now) + 2 * 86_400_000).toISOString());
      const fresh = c.factory.create(later) as DaySource;
      await fresh.start();
      try {
        const before = server.countFor(c.pathPrefix);
        const backfill = fresh.backfill(2).catch((e: unknown) => e);
        await vi.waitFor(() => expect(server.countFor(c.pathPrefix)).toBeGreaterThan(before), { timeout: 60_000, interval: 20 });
        later.bus.emit('gateway.stopping', { reason: 'test' });
        const outcome = await backfill;
        expect(String((outcome as { summary?: string }).summary ?? outcome)).toMatch(/backfill of 2 days/);
        expect(later.clock.now()).toBe(Date.parse(c.now) + 2 * 86_400_000);
      } finally {
        await fresh.stop();
        await later.close();
      }
    });
  });
}
