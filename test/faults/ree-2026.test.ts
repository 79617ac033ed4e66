import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DaySource } from '../../gateway/sources/day-source.js';
import { QUARTER_HOUR_MS } from '../../gateway/series/slots.js';
import { HOUR_MS, localDayRange } from '../../gateway/time/tz.js';
import { reePlugin } from '../../plugins/ree/index.js';
import { FixtureServer, fixture } from '../helpers/fixture-server.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';

/**
 * Issue #27 fault 1: REE apidatos' 2026 answers (titles "PVPC" / "Precio mercado spot" without a unit, spot 600 in
 * quarter-hours even with time_trunc=hour, PVPC 1001 hourly) replayed by a real local HTTP server. The fixture
 * `ree/ree_2026_shape_2025_10_26.json` carries real published values (PVPC from ESIOS archive 70, spot from OMIE)
 * for the fall-back day 2025-10-26 (25 hours, 100 quarter-hours) in that shape; see test/fixtures/PROVENANCE.md.
 */
const DAY = '2025-10-26';
const body2026 = (): { included: Array<Record<string, any>> } => JSON.parse(fixture('ree/ree_2026_shape_2025_10_26.json'));
const item = (body: { included: Array<Record<string, any>> }, id: string): Record<string, any> => body.included.find((i) => i.id === id)!;

describe("REE apidatos' 2026 shape: each series matched by id, judged and stored on its own at its native resolution", () => {
  const server = new FixtureServer();
  let ctx: TestContext;
  let ree: DaySource;
  const { start, end } = localDayRange(DAY);
  beforeAll(() => server.start());
  afterAll(() => server.stop());
  afterEach(async () => {
    await ree?.stop();
    await ctx?.close();
  });
  const open = async (lang = 'es'): Promise<void> => {
    ctx = await pluginContext(testConfig(server.base, { sources: { ree: { lang } } }), '2025-10-26T12:00:00Z');
    ree = reePlugin.create(ctx) as DaySource;
    await ree.start();
  };

  it('stores PVPC as 25 hours and the spot price as 100 quarter-hours of the fall-back day, health ok', async () => {
    await open();
    server.script('/es/datos', { body: JSON.stringify(body2026()) });
    const summary = await ree.ingestDay(DAY);
    expect(summary).toBe('pvpc 25, spot_es 100');
    const pvpc = await ctx.store.read('pvpc', start, end);
    const spot = await ctx.store.read('spot_es', start, end);
    expect(pvpc).toHaveLength(25);
    expect(pvpc.every((s) => s.end - s.start === HOUR_MS)).toBe(true);
    expect(pvpc[0]!.value).toBe(160.31);
    expect(spot).toHaveLength(100);
    expect(spot.every((s) => s.end - s.start === QUARTER_HOUR_MS)).toBe(true);
    expect(spot[0]!.start).toBe(start);
    expect(spot.at(-1)!.end).toBe(end);
    // The repeated 02:00 hour: four quarter-hours at +02:00 (00:00Z…) then four at +01:00 (01:00Z…).
    expect(spot.find((s) => s.start === Date.parse('2025-10-26T01:00:00Z'))!.value).toBe(58.07);
    expect(ree.health().state).toBe('ok');
    expect(server.requests.at(-1)!.query).toContain('time_trunc=hour');
  });

  it('matches by id whatever the language or title, and a missing title is no reason to refuse', async () => {
    await open('en');
    const body = body2026();
    item(body, '1001').type = 'PVPC price';
    item(body, '1001').attributes.title = 'Voluntary price for small consumers';
    delete item(body, '600').type;
    delete item(body, '600').attributes.title;
    server.script('/en/datos', { body: JSON.stringify(body) });
    expect(await ree.ingestDay(DAY)).toBe('pvpc 25, spot_es 100');
  });

  it("one series' evidence of a mismatch refuses that series only, with its reason; the other's good values are stored", async () => {
    await open();
    const statedMw = body2026();
    item(statedMw, '600').attributes.title = 'Precio mercado spot (MW)';
    server.script('/es/datos', { body: JSON.stringify(statedMw) });
    await expect(ree.ingestDay(DAY)).rejects.toThrow(/spot_es: ree: not what was asked for: series 600: expected a price in €\/MWh or €\/kWh, the payload says Precio mercado spot \(MW\).*\(stored pvpc 25\)/);
    expect(await ctx.store.count('pvpc')).toBe(25);
    expect(await ctx.store.count('spot_es')).toBe(0);
    expect(ree.health()).toMatchObject({ state: 'degraded', code: 'payload_mismatch' });

    // PVPC in quarter-hours is not PVPC 2.0TD (hourly): refused, and the spot day is stored.
    const quarterPvpc = body2026();
    item(quarterPvpc, '1001').attributes.values = item(quarterPvpc, '600').attributes.values.map((v: object) => ({ ...v, value: 150 }));
    server.script('/es/datos', { body: JSON.stringify(quarterPvpc) });
    await expect(ree.ingestDay(DAY)).rejects.toThrow(/pvpc: ree: not what was asked for: series 1001: comes in 60-minute values, got 15-minute values/);
    expect(await ctx.store.count('spot_es')).toBe(100);
    expect((await ctx.store.read('pvpc', start, end))[0]!.value).toBe(160.31);

    // A stated other magnitude is evidence too.
    const energy = body2026();
    item(energy, '600').attributes.magnitude = 'energy';
    server.script('/es/datos', { body: JSON.stringify(energy) });
    await expect(ree.ingestDay(DAY)).rejects.toThrow(/expected magnitude "price", the payload says energy/);

    // The right answer again: the day is complete and health is ok.
    server.script('/es/datos', { body: JSON.stringify(body2026()) });
    expect(await ree.ingestDay(DAY)).toBe('pvpc 25, spot_es 100');
    expect(ree.health().state).toBe('ok');
  });

  it('a payload whose every series is refused is refused whole and leaves the stored day as it was', async () => {
    await open();
    server.script('/es/datos', { body: JSON.stringify(body2026()) });
    await ree.ingestDay(DAY);
    const before = await ctx.store.read('pvpc', start, end);
    const other = body2026();
    for (const i of other.included) i.attributes.values = i.attributes.values.map((v: { datetime: string }) => ({ ...v, datetime: v.datetime.replace(DAY, '2025-10-25') }));
    server.script('/es/datos', { body: JSON.stringify(other) });
    await expect(ree.ingestDay(DAY)).rejects.toThrow(/^ree: not what was asked for: pvpc: asked for 2025-10-26/);
    expect(await ctx.store.read('pvpc', start, end)).toEqual(before);
  });
});
