// Issue 24: localParts memoises the zone offset per UTC quarter-hour; it must agree with Intl at every instant.
import { describe, expect, it } from 'vitest';
import { intlParts, localDate, localDayRange, localParts } from '../../gateway/time/tz.js';

describe('localParts (memoised offset) against Intl', () => {
  it('agrees every 7 min 30 s 1 ms across DST changes, for Madrid and zones with 30/45-minute offsets and DST shifts', () => {
    const zones = ['Europe/Madrid', 'Atlantic/Canary', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/St_Johns', 'Pacific/Chatham', 'UTC'];
    const spans = [
      [Date.UTC(2025, 2, 29), Date.UTC(2025, 2, 31)], // Madrid spring forward (30 March 2025)
      [Date.UTC(2025, 9, 25), Date.UTC(2025, 9, 27)], // Madrid fall back (26 October 2025)
      [Date.UTC(2025, 3, 5), Date.UTC(2025, 3, 7)], // Lord Howe: −30 min (6 April 2025), Chatham
      [Date.UTC(2025, 9, 4), Date.UTC(2025, 9, 6)], // Lord Howe: +30 min (5 October 2025)
      [Date.UTC(2025, 2, 8), Date.UTC(2025, 2, 10)], // St John's spring forward (9 March 2025)
    ];
    let checked = 0;
    for (const tz of zones) {
      for (const [from, to] of spans) {
        for (let ms = from!; ms < to!; ms += 450_001) {
          expect(localParts(ms, tz), `${tz} ${new Date(ms).toISOString()}`).toEqual(intlParts(ms, tz));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(7 * 5 * 380);
  });

  it('keeps the DST day lengths and the local date right (23 h, 25 h), and falls back to Intl before 1901', () => {
    const spring = localDayRange('2026-03-29');
    const autumn = localDayRange('2026-10-25');
    expect((spring.end - spring.start) / 3_600_000).toBe(23);
    expect((autumn.end - autumn.start) / 3_600_000).toBe(25);
    expect(localDate(Date.parse('2026-10-24T22:30:00Z'))).toBe('2026-10-25');
    const old = Date.UTC(1890, 5, 1, 12, 0, 0);
    expect(localParts(old)).toEqual(intlParts(old));
  });
});
