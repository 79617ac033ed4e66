import { describe, expect, it } from 'vitest';
import { MeterCounter, type CounterOptions } from '../../gateway/meters/counter.js';

// The demo at speed 3600 (issue: a CPU stall raised METER_JUMP "rose 38.922 kWh in 79 s, more than 1000 kW could
// import"): the poller sends a request, the meter answers with its counter at that instant, and then the poller's
// event loop stalls before it takes the answer (0.5 s of real time = 30 min of replay time). The answer is stamped
// late, so the next reading, taken promptly, looks only seconds after it while its counter is 30 min of load further.
const OPTIONS: CounterOptions = { gapMs: 3_600_000, interpolateMaxMs: 4 * 3_600_000, frozenPolls: 30, frozenKwh: 1, maxKw: 1_000 };
const T0 = Date.UTC(2018, 0, 21, 10, 0);
const KW = 80;
const MIN = 60_000;
const counterAt = (t: number): number => 125_000 + (KW * (t - T0)) / 3_600_000;

describe('meter counter: a stall of the poller is no jump', () => {
  it('a reading whose answer was taken 30 min after the meter gave it, then a prompt one, is not a jump', () => {
    const c = new MeterCounter(OPTIONS);
    let t = T0;
    for (; t < T0 + 10 * MIN; t += 12_000) expect(c.push({ at: t, requestedAt: t - 100, importKwh: counterAt(t - 50), kw: KW }).fault).toBeUndefined();
    // Sent at t, answered by the meter at once (counter at t), taken at t + 30 min (the stall).
    const stalled = c.push({ at: t + 30 * MIN, requestedAt: t, importKwh: counterAt(t), kw: KW });
    expect(stalled.fault).toBeUndefined();
    // The next poll goes out 79 s later on the replay clock and is answered at once: 40 kWh more than the previous
    // answer in "79 s", which 1000 kW cannot import; but the two values were taken up to 31.3 min apart.
    const next = t + 30 * MIN + 79_000;
    const v = c.push({ at: next, requestedAt: next - 100, importKwh: counterAt(next - 50), kw: KW });
    expect(v.fault).toBeUndefined();
    expect(v.quality).toBe('good');
  });

  it('a real jump is still found, with the same request/answer stamps', () => {
    const c = new MeterCounter(OPTIONS);
    let t = T0;
    for (; t < T0 + 10 * MIN; t += 12_000) c.push({ at: t, requestedAt: t - 100, importKwh: counterAt(t - 50), kw: KW });
    const v = c.push({ at: t, requestedAt: t - 100, importKwh: counterAt(t - 50) + 40, kw: KW });
    expect(v).toMatchObject({ fault: 'jump', raised: true });
    expect(v.message).toMatch(/^import counter rose 40\.\d+ kWh in 12 s, more than 1000 kW could import$/);
  });
});
