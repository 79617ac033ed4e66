import { describe, expect, it } from 'vitest';
import { findGaps, hourly, slotAt, slotsFromPeriods, eurPerMwhToEurPerKwh } from '../../gateway/series/slots.js';
import { addDays, formatLocalIso, localDate, localDayHours, localDayRange, localMidnightUtc, localTimeToUtc, parseInstant } from '../../gateway/time/tz.js';

const H = 3_600_000;

describe('Europe/Madrid days in UTC', () => {
  it('has 23 hours on the spring-forward day and 25 on the fall-back day', () => {
    expect(localDayHours('2025-03-30')).toBe(23);
    expect(localDayHours('2025-10-26')).toBe(25);
    expect(localDayHours('2025-06-15')).toBe(24);
  });

  it('puts local midnight at 23:00Z in winter and 22:00Z in summer', () => {
    expect(new Date(localMidnightUtc('2025-01-15')).toISOString()).toBe('2025-01-14T23:00:00.000Z');
    expect(new Date(localMidnightUtc('2025-07-15')).toISOString()).toBe('2025-07-14T22:00:00.000Z');
    expect(new Date(localMidnightUtc('2025-10-26')).toISOString()).toBe('2025-10-25T22:00:00.000Z');
    expect(new Date(localMidnightUtc('2025-10-27')).toISOString()).toBe('2025-10-26T23:00:00.000Z');
  });

  it('presents the repeated 02:00 hour of October with both offsets', () => {
    const { start } = localDayRange('2021-10-31');
    expect(formatLocalIso(start + 2 * H)).toBe('2021-10-31T02:00:00+02:00');
    expect(formatLocalIso(start + 3 * H)).toBe('2021-10-31T02:00:00+01:00');
  });

  it('maps instants to local dates across midnight UTC', () => {
    expect(localDate(Date.parse('2025-07-14T22:30:00Z'))).toBe('2025-07-15');
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
  });

  it('refuses timestamps without an offset instead of guessing a zone', () => {
    expect(() => parseInstant('2021-10-31T02:00:00')).toThrow(/with offset/);
    expect(parseInstant('2021-10-31T02:00:00.000+01:00')).toBe(Date.parse('2021-10-31T01:00:00Z'));
  });
});

describe('slots', () => {
  it('builds 92, 96 and 100 quarter-hours and 23, 24 and 25 hours from a day', () => {
    for (const [date, hours] of [['2025-03-30', 23], ['2025-10-01', 24], ['2025-10-26', 25]] as const) {
      const { start, end } = localDayRange(date);
      expect(slotsFromPeriods(start, end, new Array(hours * 4).fill(1))).toHaveLength(hours * 4);
      expect(slotsFromPeriods(start, end, new Array(hours).fill(1)).at(-1)!.end).toBe(end);
    }
    const { start, end } = localDayRange('2025-10-26');
    expect(() => slotsFromPeriods(start, end, new Array(96).fill(1))).toThrow(/96 periods do not fit a 25-hour day/);
  });

  it('finds gaps, the slot at an instant, and hourly means', () => {
    const slots = [0, 1, 3].map((i) => ({ start: i * H, end: (i + 1) * H, value: i }));
    expect(findGaps(slots, 0, 5 * H)).toEqual([{ start: 2 * H, end: 3 * H }, { start: 4 * H, end: 5 * H }]);
    expect(slotAt(slots, 3.5 * H)?.value).toBe(3);
    expect(slotAt(slots, 2.5 * H)).toBeUndefined();
    const q = [10, 20, 30, 40].map((v, i) => ({ start: (i * H) / 4, end: ((i + 1) * H) / 4, value: v }));
    expect(hourly(q)).toEqual([{ start: 0, end: H, value: 25 }]);
  });

  it('converts €/MWh to €/kWh explicitly, negative prices included', () => {
    expect(eurPerMwhToEurPerKwh(171.48)).toBe(0.17148);
    expect(eurPerMwhToEurPerKwh(-0.45)).toBe(-0.00045);
  });
});

describe('local wall time to UTC', () => {
  it('maps forecast hours on both DST days', () => {
    const at = (d: string, h: number) => new Date(localTimeToUtc(d, h)).toISOString();
    expect(at('2025-03-30', 1)).toBe('2025-03-30T00:00:00.000Z');
    expect(at('2025-03-30', 3)).toBe('2025-03-30T01:00:00.000Z');
    expect(at('2025-10-26', 2)).toBe('2025-10-26T00:00:00.000Z');
    expect(at('2025-10-26', 3)).toBe('2025-10-26T02:00:00.000Z');
    expect(at('2025-07-01', 14)).toBe('2025-07-01T12:00:00.000Z');
  });
});
