import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { AcceleratedClock, type TimerHandle } from '../../gateway/time/clock.js';
import { DaySource, type DayResult } from '../../gateway/sources/day-source.js';
import { MalformedPayloadError } from '../../gateway/util/errors.js';
import { PAYLOAD_VERSION, topics, type Payloads } from '../../gateway/mqtt/topics.js';
import { PLUGIN_API_VERSION, type PluginContext, type PluginFactory } from '../../gateway/core/plugin-api.js';
import { HOUR_MS, formatLocalIso, formatUtcIso, localDate, localDayRange, parseInstant } from '../../gateway/time/tz.js';
import { slotsFromInstants } from '../../gateway/sources/price-checks.js';

/** The text of a replay file, gunzipped when its name ends in `.gz`. */
export function readReplayText(path: string): string {
  const raw = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

/** Reads `datetime_utc,<value>` CSV rows (the format of shared/data, first two columns; plain or `.csv.gz`). */
export function readReplayCsv(path: string, series: string): Array<{ start: number; value: number }> {
  const lines = readReplayText(path).split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.slice(1).map((line, i) => {
    const [ts, value] = line.split(',');
    const v = Number(value);
    if (!Number.isFinite(v)) throw new MalformedPayloadError('replay', `${path} line ${i + 2}: ${series} value ${JSON.stringify(value)} is not a number`);
    return { start: parseInstant(ts), value: v };
  });
}

export type ReplayStatus = Omit<Payloads['replay'], 'v'>;

/**
 * Plays recorded prices as if they were being published: day D appears after the publication time of D-1.
 * Every simulated hour it says on MQTT (`replay`, retained) that this is a replay and which simulated time it is;
 * when the clock passes the end of the recording it says so once more and emits `replay.ended` on the bus.
 */
export class ReplaySource extends DaySource {
  private timer: TimerHandle | undefined;
  private ended = false;

  constructor(
    private readonly ctx: PluginContext,
    private readonly recording: { file: string; from: number; to: number },
    fetchDay: (date: string) => Promise<DayResult>,
  ) {
    const cfg = ctx.config.sources.replay;
    super(
      {
        name: 'replay',
        timezone: ctx.config.site.timezone,
        primarySeries: [cfg.series],
        describe: [{ id: cfg.series, unit: 'EUR/MWh', description: `recorded ${cfg.series} replayed from ${cfg.file}`, critical: true }],
        publishAfter: cfg.publishAfter,
        staleAfterMs: 26 * 3_600_000,
        backfillDays: 7,
        backfillIntervalMs: 0,
        fetchDay,
      },
      ctx,
    );
  }

  override async start(): Promise<void> {
    await super.start();
    this.tick();
  }

  override async stop(): Promise<void> {
    this.timer?.cancel();
    await super.stop();
  }

  /** Replay state for the status page and MQTT: simulated now (UTC and plant time), speed, recorded span. */
  status(): ReplayStatus {
    const now = this.ctx.clock.now();
    const tz = this.ctx.config.site.timezone;
    return {
      replay: true,
      state: this.ended ? 'ended' : 'playing',
      file: this.recording.file,
      simulated_time: formatUtcIso(now),
      simulated_local: formatLocalIso(now, tz),
      simulated_date: localDate(now, tz),
      speed: this.ctx.clock instanceof AcceleratedClock ? this.ctx.clock.factor : null,
      data_from: formatUtcIso(this.recording.from),
      data_to: formatUtcIso(this.recording.to),
    };
  }

  private tick(): void {
    const now = this.ctx.clock.now();
    if (!this.ended && now >= this.recording.to) {
      this.ended = true;
      this.ctx.bus.emit('replay.ended', { at: now, dataEnd: this.recording.to });
    }
    void this.ctx.mqtt.publish(topics.replay, { v: PAYLOAD_VERSION, ...this.status() }, { retain: true });
    if (!this.ended) this.timer = this.ctx.clock.setTimeout(() => this.tick(), HOUR_MS - (now % HOUR_MS));
  }
}

export const replayPlugin: PluginFactory = {
  name: 'replay',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => config.sources.replay.enabled,
  create(ctx) {
    const cfg = ctx.config.sources.replay;
    const rows = readReplayCsv(cfg.file, cfg.series);
    if (!rows.length) throw new MalformedPayloadError('replay', `${cfg.file}: no rows`);
    const fetchDay = async (date: string): Promise<DayResult> => {
      const { start, end } = localDayRange(date, ctx.config.site.timezone);
      const points = rows.filter((r) => r.start >= start && r.start < end);
      if (!points.length) return { kind: 'not-published', detail: `no recorded values for ${date}` };
      return { kind: 'data', series: [{ id: cfg.series, unit: 'EUR/MWh', slots: slotsFromInstants('replay', cfg.series, points) }] };
    };
    return new ReplaySource(ctx, { file: cfg.file, from: rows[0]!.start, to: rows.at(-1)!.start + HOUR_MS }, fetchDay);
  },
};
