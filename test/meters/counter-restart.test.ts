/**
 * A restart of the gateway bridges the time it was stopped (README "Connecting a meter": "A restart keeps the
 * counter's last trusted reading, so a short stop is bridged like a gap"). Found with `start`, a real SDM630 profile
 * on Modbus TCP and a kill -9 at 08:19:52 / restart at 08:20:53: the quarter-hour 08:15-08:30 was stored `missing`
 * (the METER_GAP said "no reading for 6 min"), as it is after a clean stop and start too. The state kept the last
 * reading and the first open quarter-hour but not the counter's segments since that quarter-hour began, so after the
 * restart the quarter-hour was not covered from its start. The state goes through JSON as in the store.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MeterCounter, type CounterOptions, type CounterState } from '../../gateway/meters/counter.js';
import { SeriesStore } from '../../gateway/series/store.js';

const OPTIONS: CounterOptions = { gapMs: 60_000, interpolateMaxMs: 3_600_000, frozenPolls: 30, frozenKwh: 1 };
const T0 = Date.UTC(2026, 11, 6, 8, 15); // 09:15 Madrid, a quarter-hour boundary
const S = 1000;
const KW = 120;
const kwhAt = (t: number) => 5000 + (KW * (t - (T0 - 3_600_000))) / 3_600_000; // a meter integrating 120 kW exactly

/** Polls every second from `from` to `to` (inclusive), as the meters plugin does. */
function poll(c: MeterCounter, from: number, to: number): void {
  for (let t = from; t <= to; t += S) c.push({ at: t, importKwh: kwhAt(t), kw: KW });
}

let store: SeriesStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe('meter counter across a restart', () => {
  it('kill -9 a few minutes into a quarter-hour (state saved when the last one closed): the quarter-hour is interpolated, its energy the counter\'s rise', async () => {
    const before = new MeterCounter(OPTIONS);
    poll(before, T0 - 120 * S, T0 + 1 * S); // the reading 1 s after 08:15 closes 08:00-08:15
    const closed = before.close(T0 + 1 * S);
    expect(closed.at(-1)).toMatchObject({ start: T0 - 900_000, quality: 'missing' }); // started mid-quarter-hour
    // the plugin stores the state after writing the closed quarter-hours, in LevelDB (JSON)
    store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'counter-restart-')));
    await store.setValue('meterstate.site', before.state());
    poll(before, T0 + 2 * S, T0 + 290 * S); // runs on to 08:19:50, then kill -9: nothing more is saved
    const saved = await store.getValue<CounterState>('meterstate.site');
    const after = new MeterCounter(OPTIONS, saved);
    poll(after, T0 + 350 * S, T0 + 900 * S + 2 * S); // back at 08:20:50, on past 08:30
    const [qh] = after.close(T0 + 902 * S);
    expect(qh).toMatchObject({ start: T0, end: T0 + 900_000, quality: 'interpolated' });
    expect(qh!.kwh).toBeCloseTo((KW * 15) / 60, 3); // 30 kWh: the rise over the stop is measured, spread over it
  });

  it('a clean stop and start two minutes later (state saved at stop): interpolated, never missing', () => {
    const before = new MeterCounter(OPTIONS);
    poll(before, T0 - 60 * S, T0 + 200 * S);
    before.close(T0 + 200 * S);
    const saved = JSON.parse(JSON.stringify(before.state())) as CounterState;
    const after = new MeterCounter(OPTIONS, saved);
    poll(after, T0 + 320 * S, T0 + 905 * S);
    const [qh] = after.close(T0 + 905 * S);
    expect(qh).toMatchObject({ start: T0, quality: 'interpolated' });
    expect(qh!.kwh).toBeCloseTo(30, 3);
  });

  it('state saved before segments were kept (no `segments`) still loads: the open quarter-hour is missing, as before', () => {
    const before = new MeterCounter(OPTIONS);
    poll(before, T0 - 60 * S, T0 + 200 * S);
    before.close(T0 + 200 * S);
    const { segments: _dropped, ...old } = before.state()!;
    const after = new MeterCounter(OPTIONS, old);
    poll(after, T0 + 260 * S, T0 + 905 * S);
    expect(after.close(T0 + 905 * S)[0]).toMatchObject({ start: T0, quality: 'missing' });
  });
});
