import { QUARTER_HOUR_MS } from '../series/slots.js';
import { quarterHourStart, round6, type MeterQuarterHour, type QuarterHourQuality } from './quarter-hours.js';
import type { MeterFaultKind } from './reading.js';

/**
 * The counter checks and the quarter-hours of one meter, from its polls (pure: no I/O, no clock of its own).
 *
 * A quarter-hour's energy comes from the import counter, never from power: the counter's rise between two
 * readings (a "segment") is spread over the segment's time in proportion, and a quarter-hour sums the parts of the
 * segments it overlaps. A segment is
 * - measured: its readings no further apart than `gapMs`, the rise plausible;
 * - interpolated: a gap or a frozen spell no longer than `interpolateMaxMs` (the rise is measured, its timing not);
 * - missing: a longer gap, a counter reset, a rollback or a jump (the rise, if any, is not billed as measured).
 * A quarter-hour is as good as the worst segment in it, and missing where no segment covers it (the gateway
 * was not reading). Readings whose counter does not advance while the power reads above zero are held back
 * (not yet trusted) until the counter advances, the meter is found frozen, or `interpolateMaxMs` has passed (a
 * low load that a coarse counter legitimately needs that long to register); quarter-hours close only up to the
 * last trusted reading, so a frozen meter's flat counter is never stored as measured zero.
 */
export interface CounterOptions {
  /** Readings further apart than this are a gap (ms, gateway clock). */
  gapMs: number;
  /** Gaps and frozen spells up to this long are bridged as interpolated (ms). */
  interpolateMaxMs: number;
  /** Every value identical this many polls in a row, with power not zero: frozen. */
  frozenPolls: number;
  /** The power read would have imported this many kWh since the counter last advanced: frozen. */
  frozenKwh: number;
  /** The highest power the circuit can draw (kW); default 2 × the highest read so far, at least 10 kW. */
  maxKw?: number;
}

export interface CounterReading {
  /** When the counter's answer arrived (ms, gateway clock). */
  at: number;
  /**
   * When the request that read the counter was sent (ms, same clock as `at`; default `at`). The counter's value is
   * of some instant between the two: a stall of the poller (an event-loop pause, a slow link, an accelerated demo
   * clock) between the meter answering and the answer being taken moves `at` but not the value. The jump rule
   * therefore allows what the circuit could import from the anchor's request to this answer, the longest the two
   * values can be apart; a real jump (more than that) is still found.
   */
  requestedAt?: number;
  importKwh: number;
  kw: number;
  importKvarh?: number | null;
  /**
   * The counter's step at this value, kWh (an integer register's scale, a float's spacing at this magnitude): a
   * counter that steps by 0.1 kWh may show a whole step after a moment of load, which is no jump.
   */
  resolutionKwh?: number;
}

/** What one reading told: `suspect` while a fault holds; `fault` names the kind when one was found (new or ongoing). */
export interface CounterVerdict {
  quality: 'good' | 'suspect';
  fault?: MeterFaultKind;
  /** One sentence for health and the alert, when a fault was found at this reading. */
  message?: string;
  /** True when this reading found the fault (raise the alert once). */
  raised?: boolean;
}

interface Anchor {
  at: number;
  /** The anchor reading's `requestedAt` (absent in state saved before it existed: `at`). */
  requestedAt?: number;
  kwh: number;
  kvarh: number | null;
}

export interface Segment {
  from: number;
  to: number;
  kwh: number;
  kvarh: number | null;
  quality: QuarterHourQuality;
}

/**
 * What survives a restart: the last trusted reading, the first quarter-hour not yet closed, and the segments of the
 * open quarter-hour (from its start to the last trusted reading: without them the quarter-hour would not be covered
 * after a restart and would close missing, however short the stop). `segments` is absent in state saved before it
 * existed.
 */
export interface CounterState {
  anchor: Anchor;
  nextQuarterHour: number;
  maxSeenKw: number;
  segments?: Segment[];
}

const RANK: Record<QuarterHourQuality, number> = { measured: 0, interpolated: 1, missing: 2 };
const EPS_KWH = 1e-6;
const MIN_LIMIT_KW = 10;

export class MeterCounter {
  private anchor?: Anchor;
  private pending: CounterReading[] = [];
  private segments: Segment[] = [];
  private nextQh?: number;
  private lastReading?: CounterReading;
  private identical = 0;
  private frozen = false;
  private maxSeenKw = 0;

  constructor(
    private readonly options: CounterOptions,
    state?: CounterState,
  ) {
    if (state) {
      this.anchor = state.anchor;
      this.nextQh = state.nextQuarterHour;
      this.maxSeenKw = state.maxSeenKw;
      // only segments that end at the restored anchor and lie after the first open quarter-hour's start
      this.segments = (state.segments ?? []).filter((g) => g.to > state.nextQuarterHour && g.to <= state.anchor.at).map((g) => ({ ...g }));
    }
  }

  /** The highest power the counter may plausibly rise at (kW). */
  limitKw(): number {
    return this.options.maxKw ?? Math.max(MIN_LIMIT_KW, 2 * this.maxSeenKw);
  }

  isFrozen(): boolean {
    return this.frozen;
  }

  state(): CounterState | undefined {
    if (!this.anchor || this.nextQh === undefined) return undefined;
    const open = this.segments.filter((g) => g.to > this.nextQh!).map((g) => ({ ...g }));
    return { anchor: { ...this.anchor }, nextQuarterHour: this.nextQh, maxSeenKw: this.maxSeenKw, segments: open };
  }

  /** Takes one successful poll. Readings not after the previous one are ignored (returned good, not used). */
  push(r: CounterReading): CounterVerdict {
    const prev = this.lastReading;
    if (prev && r.at <= prev.at) return { quality: 'good' };
    this.lastReading = r;
    this.maxSeenKw = Math.max(this.maxSeenKw, Math.abs(r.kw));
    const kvarh = r.importKvarh ?? null;
    const same = prev && prev.importKwh === r.importKwh && prev.kw === r.kw && (prev.importKvarh ?? null) === kvarh;
    this.identical = same && r.kw !== 0 ? this.identical + 1 : 0;
    const anchor = this.anchor;
    if (!anchor) {
      this.anchor = { at: r.at, requestedAt: Math.min(r.at, r.requestedAt ?? r.at), kwh: r.importKwh, kvarh };
      this.nextQh ??= quarterHourStart(r.at);
      return { quality: 'good' };
    }
    const gap = prev ? r.at - prev.at > this.options.gapMs : r.at - anchor.at > this.options.gapMs;
    const gapMessage = `no reading for ${minutes(r.at - (prev?.at ?? anchor.at))}`;
    const rise = r.importKwh - anchor.kwh;
    const span = r.at - anchor.at;
    // The longest the two counter values can be apart: from the anchor's request to this answer (see requestedAt).
    const window = r.at - Math.min(anchor.at, anchor.requestedAt ?? anchor.at);
    const possible = (this.limitKw() * window) / 3_600_000;
    if (rise < -EPS_KWH) {
      const reset = r.importKwh <= possible + 1;
      this.restart(r, kvarh);
      return {
        quality: 'suspect',
        fault: reset ? 'reset' : 'rollback',
        raised: true,
        message: reset ? `import counter reset from ${fmt(anchor.kwh)} to ${fmt(r.importKwh)} kWh` : `import counter went back from ${fmt(anchor.kwh)} to ${fmt(r.importKwh)} kWh`,
      };
    }
    const step = r.resolutionKwh ?? 0;
    if (rise > possible + step + EPS_KWH) {
      this.restart(r, kvarh);
      return { quality: 'suspect', fault: 'jump', raised: true, message: `import counter rose ${fmt(rise)} kWh in ${minutes(window)}, more than ${fmt(this.limitKw())} kW could import` };
    }
    if (rise <= EPS_KWH && (this.pending.length > 0 || r.kw > 0)) {
      // Not advancing while drawing: hold back until the counter moves, the meter is found frozen, or the wait is long enough.
      // Once frozen, the readings are not kept (a meter frozen for weeks must not grow memory): its span decides.
      if (!this.frozen) this.pending.push(r);
      if (!this.frozen) {
        const expected = this.expectedKwh(anchor);
        const frozenKwh = Math.max(this.options.frozenKwh, 3 * step);
        if (this.identical + 1 >= this.options.frozenPolls || expected > frozenKwh) {
          this.frozen = true;
          const why = expected > frozenKwh ? `the power read (${fmt(r.kw)} kW) would have imported ${fmt(expected)} kWh` : `every value identical for ${this.identical + 1} polls`;
          return { quality: 'suspect', fault: 'frozen', raised: true, message: `frozen: the import counter stays at ${fmt(anchor.kwh)} kWh for ${minutes(span)} while ${why}` };
        }
        if (span > this.options.interpolateMaxMs) {
          this.advance(r, kvarh, 0, this.worstSpacingQuality(r, span));
          return gap ? { quality: 'suspect', fault: 'gap', raised: true, message: gapMessage } : { quality: 'good' };
        }
        return gap ? { quality: 'suspect', fault: 'gap', raised: true, message: gapMessage } : { quality: 'good' };
      }
      return { quality: 'suspect', fault: 'frozen' };
    }
    const wasFrozen = this.frozen;
    const quality: QuarterHourQuality = wasFrozen ? (span <= this.options.interpolateMaxMs ? 'interpolated' : 'missing') : this.worstSpacingQuality(r, span);
    this.advance(r, kvarh, rise, quality);
    if (gap) return { quality: 'suspect', fault: 'gap', raised: true, message: gapMessage };
    return { quality: 'good' };
  }

  /** The energy the power read would have imported since `anchor` (trapezoids over the held-back readings). */
  private expectedKwh(anchor: Anchor): number {
    let kwh = 0;
    let t = anchor.at;
    let kw = this.pending[0]?.kw ?? 0;
    for (const p of this.pending) {
      kwh += (((Math.max(0, kw) + Math.max(0, p.kw)) / 2) * (p.at - t)) / 3_600_000;
      t = p.at;
      kw = p.kw;
    }
    return kwh;
  }

  /**
   * measured when every reading since the anchor came within gapMs of the one before, the segment is no longer than
   * a quarter-hour of the gateway's clock, and both its counter values are timed to within TIMING_TOLERANCE_MS (see
   * segmentTiming); else bridged (interpolated: the rise is measured, its timing is not) or missing by length.
   */
  private worstSpacingQuality(r: CounterReading, span: number): QuarterHourQuality {
    let t = this.anchor!.at;
    let widest = 0;
    for (const p of [...this.pending, r]) {
      widest = Math.max(widest, p.at - t);
      t = p.at;
    }
    if (widest <= this.options.gapMs && !segmentTiming(this.anchor!, r, span)) return 'measured';
    return span <= this.options.interpolateMaxMs ? 'interpolated' : 'missing';
  }

  private advance(r: CounterReading, kvarh: number | null, rise: number, quality: QuarterHourQuality): void {
    const a = this.anchor!;
    this.segments.push({ from: a.at, to: r.at, kwh: Math.max(0, rise), kvarh: kvarh !== null && a.kvarh !== null && kvarh >= a.kvarh ? kvarh - a.kvarh : null, quality });
    this.anchor = { at: r.at, requestedAt: Math.min(r.at, r.requestedAt ?? r.at), kwh: r.importKwh, kvarh };
    this.pending = [];
    this.frozen = false;
    this.identical = 0;
  }

  /** After a reset, rollback or jump: the time since the last trusted reading is missing; the counter starts again here. */
  private restart(r: CounterReading, kvarh: number | null): void {
    const a = this.anchor!;
    this.segments.push({ from: a.at, to: r.at, kwh: 0, kvarh: null, quality: 'missing' });
    this.anchor = { at: r.at, requestedAt: Math.min(r.at, r.requestedAt ?? r.at), kwh: r.importKwh, kvarh };
    this.pending = [];
    this.frozen = false;
    this.identical = 0;
  }

  /** Whether no reading has come for longer than the gap threshold at `now`. */
  gapOpen(now: number): boolean {
    const last = this.lastReading?.at ?? this.anchor?.at;
    return last !== undefined && now - last > this.options.gapMs;
  }

  /**
   * The quarter-hours that can be closed at `now`: those ending at or before the last trusted reading, and, once the
   * meter has been silent or frozen longer than `interpolateMaxMs`, those ending by `now` (missing: nothing can
   * bridge them any more). Each is returned once, in order; `meter`, `role`, `line` and `period` are the caller's.
   */
  close(now: number): Array<Omit<MeterQuarterHour, 'meter' | 'role' | 'line' | 'period'>> {
    const a = this.anchor;
    if (!a || this.nextQh === undefined) return [];
    // Past bridging: frozen, or silent (no reading within the gap threshold), for longer than interpolateMaxMs.
    const lost = now - a.at > this.options.interpolateMaxMs && (this.frozen || this.gapOpen(now));
    const until = lost ? quarterHourStart(now) : a.at;
    const out: Array<Omit<MeterQuarterHour, 'meter' | 'role' | 'line' | 'period'>> = [];
    for (let s = this.nextQh; s + QUARTER_HOUR_MS <= until; s += QUARTER_HOUR_MS) out.push(this.quarterHour(s, s + QUARTER_HOUR_MS));
    if (out.length) this.nextQh = out.at(-1)!.end;
    this.segments = this.segments.filter((g) => g.to > this.nextQh!);
    return out;
  }

  private quarterHour(start: number, end: number): Omit<MeterQuarterHour, 'meter' | 'role' | 'line' | 'period'> {
    let covered = 0;
    let kwh = 0;
    let kvarh: number | null = 0;
    let worst: QuarterHourQuality = 'measured';
    for (const g of this.segments) {
      const overlap = Math.min(end, g.to) - Math.max(start, g.from);
      if (overlap <= 0) continue;
      covered += overlap;
      const share = overlap / (g.to - g.from);
      kwh += g.kwh * share;
      kvarh = kvarh === null || g.kvarh === null ? null : kvarh + g.kvarh * share;
      if (RANK[g.quality] > RANK[worst]) worst = g.quality;
    }
    if (covered < end - start) worst = 'missing';
    if (worst === 'missing') return { start, end, kwh: null, avgKw: null, kvarh: null, quality: 'missing' };
    const k = round6(kwh);
    return { start, end, kwh: k, avgKw: round6(4 * k), kvarh: kvarh === null ? null : round6(kvarh), quality: worst };
  }
}

/**
 * How long a counter value may be uncertain in time (ms, gateway clock) for the quarter-hours it bounds to count as
 * measured: 1 % of a quarter-hour (9 s). A value read is of some instant between the request and its answer
 * (CounterReading.requestedAt, at); a quarter-hour's energy then moves by up to the power × that time at each of its
 * ends, so 9 s keeps a quarter-hour's average power within about 1 % per end (a class-1 meter's accuracy). Over a real
 * link an answer takes milliseconds; the demo's accelerated clock turns an event-loop stall between the meter
 * answering and the poller taking the answer into minutes (×3600: 0.4 s is 24 min), which spread over a short
 * segment was a quarter-hour of 264 kW on a plant drawing 145 kW.
 */
export const TIMING_TOLERANCE_MS = 9_000;

/**
 * Why a segment from `anchor` to `r` (`span` ms) cannot give measured quarter-hours, or null: longer than a
 * quarter-hour of the gateway's clock (a quarter-hour inside it had no reading: its energy is spread, not measured;
 * in real time the gap threshold already says so, under the demo's accelerated clock it is judged in device time and
 * allows hours), or a counter value at either end timed less precisely than TIMING_TOLERANCE_MS.
 */
export function segmentTiming(anchor: Pick<Anchor, 'at' | 'requestedAt'>, r: Pick<CounterReading, 'at' | 'requestedAt'>, span: number): 'long' | 'untimed' | null {
  if (span > QUARTER_HOUR_MS) return 'long';
  const uncertain = (x: { at: number; requestedAt?: number }) => x.at - Math.min(x.at, x.requestedAt ?? x.at);
  return uncertain(anchor) > TIMING_TOLERANCE_MS || uncertain(r) > TIMING_TOLERANCE_MS ? 'untimed' : null;
}

function fmt(x: number): string {
  return String(Math.round(x * 1000) / 1000);
}

function minutes(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
