import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPriceSlots } from '../../models/eval/datasets.js';
import { SOLAR_SITE, clearSkyGhi, clearSkyProfile, sunElevation } from '../../gateway/inference/clear-sky.js';
import { CLEAR_SKY_INPUT, calibrateLear, forecastLearDay, learHistory } from '../../gateway/inference/price-lear.js';
import { daySlots } from '../../gateway/inference/price-profiles.js';
import { FIXTURES } from '../helpers/fixture-server.js';

const MINUTE = 60_000;

/** Highest sun of a UTC day (degrees), searched minute by minute around noon. */
function noonElevation(date: string): number {
  const start = Date.parse(`${date}T10:00:00Z`);
  let best = -90;
  for (let m = 0; m <= 240; m++) best = Math.max(best, sunElevation(start + m * MINUTE));
  return best;
}

describe('clear-sky irradiance at Linares, the forecaster\'s deterministic solar input', () => {
  it('puts the sun at 90° − latitude ± the declination at noon of the solstices and the equinox', () => {
    // Declination +23.44° (June solstice), −23.44° (December), about 0° (March equinox).
    expect(noonElevation('2024-06-20')).toBeCloseTo(90 - SOLAR_SITE.lat + 23.44, 0);
    expect(noonElevation('2024-12-21')).toBeCloseTo(90 - SOLAR_SITE.lat - 23.44, 0);
    expect(Math.abs(noonElevation('2024-03-20') - (90 - SOLAR_SITE.lat))).toBeLessThan(0.6);
    // Solar noon at 3.6° W falls about 12:14 UTC (+ the equation of time): the sun is higher then than an hour either side.
    const noon = Date.parse('2024-06-20T12:15:00Z');
    expect(sunElevation(noon)).toBeGreaterThan(sunElevation(noon - 60 * MINUTE));
    expect(sunElevation(noon)).toBeGreaterThan(sunElevation(noon + 60 * MINUTE));
    expect(sunElevation(Date.parse('2024-06-20T00:00:00Z'))).toBeLessThan(-20);
  });

  it('gives Haurwitz irradiance: about 1000 W/m² at a June noon, about 450 in December, 0 at night', () => {
    expect(clearSkyGhi(Date.parse('2024-06-20T12:15:00Z'))).toBeGreaterThan(950);
    expect(clearSkyGhi(Date.parse('2024-06-20T12:15:00Z'))).toBeLessThan(1050);
    expect(clearSkyGhi(Date.parse('2024-12-21T12:15:00Z'))).toBeGreaterThan(400);
    expect(clearSkyGhi(Date.parse('2024-12-21T12:15:00Z'))).toBeLessThan(520);
    expect(clearSkyGhi(Date.parse('2024-12-21T02:00:00Z'))).toBe(0);
  });

  it('lays a day out per local clock period: the midday dip peaks at 14:00 in summer time and 13:00 in winter time', () => {
    const june = clearSkyProfile('2024-06-20', 24);
    expect(june).toHaveLength(24);
    expect([...june].indexOf(Math.max(...june))).toBe(14);
    for (const p of [0, 1, 2, 3, 4, 5, 23]) expect(june[p]).toBe(0);
    expect(june[6]).toBeLessThan(0.05);
    expect(june[21]).toBeGreaterThan(0);
    const january = clearSkyProfile('2024-01-15', 24);
    expect([...january].indexOf(Math.max(...january))).toBe(13);
    // The year's growth of the dip that the members read: noon in June more than twice noon in January.
    expect(june[14]! / january[13]!).toBeGreaterThan(2);
  });

  it('handles the 23-hour day (hours and 92 quarter-hours): the clock jumps, the sun does not', () => {
    expect(daySlots('2024-03-31', 24)).toHaveLength(23);
    const before = clearSkyProfile('2024-03-30', 24);
    const dst = clearSkyProfile('2024-03-31', 24);
    expect(dst).toHaveLength(24);
    expect(dst[2]).toBe(0); // 02:00-03:00 does not exist: the hour before, at night
    // From 03:00 on, each clock hour sees the sun of the clock hour before on the day before (one day later: within 3 %).
    for (let p = 8; p < 22; p++) expect(dst[p]!).toBeCloseTo(before[p - 1]!, 1);
    expect([...dst].indexOf(Math.max(...dst))).toBe(before.indexOf(Math.max(...before)) + 1);
    expect(daySlots('2026-03-29', 96)).toHaveLength(92);
    const q = clearSkyProfile('2026-03-29', 96);
    expect(q).toHaveLength(96);
    expect([...q].every(Number.isFinite)).toBe(true);
    for (let p = 8; p < 12; p++) expect(q[p]).toBe(0);
  });

  it('handles the 25-hour day (hours and 100 quarter-hours): the repeated night hour is 0, the day shifts back an hour', () => {
    expect(daySlots('2025-10-26', 96)).toHaveLength(100);
    const before = clearSkyProfile('2025-10-25', 96);
    const dst = clearSkyProfile('2025-10-26', 96);
    expect(dst).toHaveLength(96);
    for (let p = 8; p < 12; p++) expect(dst[p]).toBe(0);
    for (let p = 40; p < 72; p++) expect(dst[p]!).toBeCloseTo(before[p + 4]!, 1);
    expect(daySlots('2024-10-27', 24)).toHaveLength(25);
    expect(clearSkyProfile('2024-10-27', 24)).toHaveLength(24);
  });
});

describe('the recalibrated forecaster reads clear-sky irradiance in its long windows', () => {
  // Real OMIE quarter-hour prices (test/fixtures/models/PROVENANCE.md), 2025-08-20 → 2025-11-15.
  const h = learHistory(loadPriceSlots([join(FIXTURES, 'models/omie_es_2025-08-20_2025-11-15_mtu.csv.gz')]));
  const base = { windows: [14, 28], lambda: 0.05, conformalDays: 7, weightDays: 0 };

  it('fits members of windows ≥ clearSkyWindow with the clear-sky input, the shorter ones without, and says so in inputs', () => {
    const cal = calibrateLear(h, '2025-10-25', { ...base, clearSkyWindow: 28 });
    const byWindow = Object.fromEntries(cal.members.filter((m) => m.kind === 'd1').map((m) => [m.window, m]));
    expect(byWindow[28]!.clearSky).toBe(true);
    expect(byWindow[14]!.clearSky).toBeUndefined();
    expect(byWindow[28]!.fits[0]!.weights.length).toBe(byWindow[14]!.fits[0]!.weights.length + 1);
    expect(cal.inputs).toContain(CLEAR_SKY_INPUT);
    expect(calibrateLear(h, '2025-10-25', { ...base, clearSkyWindow: 0 }).inputs).not.toContain(CLEAR_SKY_INPUT);
  });

  it('forecasts the 25-hour day (100 quarter-hours) from a calibration with it, and the input changes the midday forecast', () => {
    const withSun = calibrateLear(h, '2025-10-25', { ...base, clearSkyWindow: 28 });
    const without = calibrateLear(h, '2025-10-25', { ...base, clearSkyWindow: 0 });
    const f = forecastLearDay(withSun, h, '2025-10-25', 1)!;
    const g = forecastLearDay(without, h, '2025-10-25', 1)!;
    expect(f.slots).toHaveLength(100);
    expect(f.slots.every((s) => Number.isFinite(s.value))).toBe(true);
    expect(f.members!['d1-28']).toHaveLength(96);
    // Same window, same prices: only the clear-sky input differs, and it moves the member's sunlit periods.
    const midday = f.members!['d1-28']!.slice(48, 64).map((v, i) => Math.abs(v - g.members!['d1-28']![48 + i]!));
    expect(Math.max(...midday)).toBeGreaterThan(0.01);
    expect(f.members!['d1-14']).toEqual(g.members!['d1-14']);
  });
});
