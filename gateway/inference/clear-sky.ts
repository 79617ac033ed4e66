import { PLANT_TZ } from '../time/tz.js';
import { daySlots } from './price-profiles.js';

/**
 * Clear-sky global horizontal irradiance, the deterministic part of Spain's solar output: what the sun alone makes
 * of a period's hours, known years in advance. The price forecaster reads it per target period as the seasonal size of
 * the midday solar dip (issue #23), so that a per-period regression fitted on the last weeks can follow the dip's
 * growth from winter to spring without REE's D-1 forecasts.
 *
 * Sun position: NOAA's general solar position equations (Spencer's Fourier series for the declination and the
 * equation of time; error under about 0.5°, far below what the feature needs). Irradiance: Haurwitz's clear-sky model,
 * GHI = 1098 · cos z · exp(−0.057 / cos z) W/m² for a sun above the horizon (z the zenith angle), 0 below.
 */

/** Where the feature is computed: Linares (Jaén), the plant's site, in the middle of Spain's southern solar belt. */
export const SOLAR_SITE = { lat: 38.1, lon: -3.6 } as const;

const RAD = Math.PI / 180;

/** Sun elevation above the horizon (degrees, negative below it) at instant `ms` (UTC ms) seen from `lat`, `lon` (degrees, east positive). */
export function sunElevation(ms: number, lat: number = SOLAR_SITE.lat, lon: number = SOLAR_SITE.lon): number {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const dayOfYear = Math.floor((ms - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
  const daysInYear = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 366 : 365;
  const hourUtc = d.getUTCHours() + d.getUTCMinutes() / 60 + d.getUTCSeconds() / 3600;
  const g = ((2 * Math.PI) / daysInYear) * (dayOfYear - 1 + (hourUtc - 12) / 24);
  const eqTimeMin = 229.18 * (0.000075 + 0.001868 * Math.cos(g) - 0.032077 * Math.sin(g) - 0.014615 * Math.cos(2 * g) - 0.040849 * Math.sin(2 * g));
  const decl = 0.006918 - 0.399912 * Math.cos(g) + 0.070257 * Math.sin(g) - 0.006758 * Math.cos(2 * g) + 0.000907 * Math.sin(2 * g) - 0.002697 * Math.cos(3 * g) + 0.00148 * Math.sin(3 * g);
  const trueSolarMin = hourUtc * 60 + eqTimeMin + 4 * lon;
  const hourAngle = (trueSolarMin / 4 - 180) * RAD;
  const cosZenith = Math.sin(lat * RAD) * Math.sin(decl) + Math.cos(lat * RAD) * Math.cos(decl) * Math.cos(hourAngle);
  return 90 - Math.acos(Math.min(1, Math.max(-1, cosZenith))) / RAD;
}

/** Haurwitz clear-sky global horizontal irradiance (W/m²) at instant `ms`; 0 with the sun below the horizon. */
export function clearSkyGhi(ms: number, lat: number = SOLAR_SITE.lat, lon: number = SOLAR_SITE.lon): number {
  const cosZ = Math.sin(sunElevation(ms, lat, lon) * RAD);
  return cosZ > 0 ? 1098 * cosZ * Math.exp(-0.057 / cosZ) : 0;
}

/** Samples per slot: the mean over its length, so that the hour of sunrise gets its part of the light. */
const SAMPLES = 6;

const profiles = new Map<string, Float64Array>();

/**
 * Mean clear-sky GHI (kW/m²) of each clock period (0 … periods−1 from local midnight, `periods` 24 or 96) of the
 * local day `date`, laid out as `DayProfiles` lays out prices: on the 23-hour day the missing clock hour takes the
 * hour before (night: 0), on the 25-hour day the repeated hour is the mean of its two (night: 0). Memoised.
 */
export function clearSkyProfile(date: string, periods: number, tz = PLANT_TZ): Float64Array {
  const key = `${date}/${periods}/${tz}`;
  const hit = profiles.get(key);
  if (hit) return hit;
  const sum = new Float64Array(periods);
  const n = new Float64Array(periods);
  for (const s of daySlots(date, periods, tz)) {
    let v = 0;
    for (let i = 0; i < SAMPLES; i++) v += clearSkyGhi(s.start + ((i + 0.5) / SAMPLES) * (s.end - s.start));
    sum[s.period]! += v / SAMPLES / 1000;
    n[s.period]!++;
  }
  const out = new Float64Array(periods);
  for (let p = 0; p < periods; p++) out[p] = n[p] ? sum[p]! / n[p]! : p > 0 ? out[p - 1]! : 0;
  if (profiles.size > 4000) profiles.clear();
  profiles.set(key, out);
  return out;
}
