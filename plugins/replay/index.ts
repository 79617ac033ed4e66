import { readFileSync } from 'node:fs';
import { DaySource, type DayResult } from '../../gateway/day-source.js';
import { MalformedPayloadError } from '../../gateway/errors.js';
import { PLUGIN_API_VERSION, type PluginFactory } from '../../gateway/plugin.js';
import { localDayRange, parseInstant } from '../../gateway/tz.js';
import { slotsFromInstants } from '../price-checks.js';

/** Reads `datetime_utc,<value>` CSV rows (the format of shared/data, first two columns). */
export function readReplayCsv(path: string, series: string): Array<{ start: number; value: number }> {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.slice(1).map((line, i) => {
    const [ts, value] = line.split(',');
    const v = Number(value);
    if (!Number.isFinite(v)) throw new MalformedPayloadError('replay', `${path} line ${i + 2}: ${series} value ${JSON.stringify(value)} is not a number`);
    return { start: parseInstant(ts), value: v };
  });
}

/** Plays recorded prices as if they were being published: day D appears after the publication time of D-1. */
export const replayPlugin: PluginFactory = {
  name: 'replay',
  apiVersion: PLUGIN_API_VERSION,
  enabled: (config) => config.sources.replay.enabled,
  create(ctx) {
    const cfg = ctx.config.sources.replay;
    const rows = readReplayCsv(cfg.file, cfg.series);
    const fetchDay = async (date: string): Promise<DayResult> => {
      const { start, end } = localDayRange(date, ctx.config.site.timezone);
      const points = rows.filter((r) => r.start >= start && r.start < end);
      if (!points.length) return { kind: 'not-published', detail: `no recorded values for ${date}` };
      return { kind: 'data', series: [{ id: cfg.series, unit: 'EUR/MWh', slots: slotsFromInstants('replay', cfg.series, points) }] };
    };
    return new DaySource(
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
  },
};
