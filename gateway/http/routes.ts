import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from './context.js';
import { UnknownJobError } from '../core/scheduler.js';
import { eurPerMwhToEurPerKwh, hourly, type StoredSlot } from '../series/slots.js';
import { mergeDescriptors } from '../series/status.js';
import { DAY_MS, HOUR_MS, addDays, formatLocalIso, formatUtcIso, localDate, localDayRange } from '../time/tz.js';
import { parseTimeParam } from './time-params.js';
import { VERSION } from '../util/version.js';
import type { AuthGuard } from './auth.js';

const IsoOrDate = Type.String({ description: "ISO 8601 timestamp with offset or Z, or a local date (YYYY-MM-DD: that day's first instant in the plant's time zone)", examples: ['2025-10-26', '2025-10-01T00:00:00+02:00'] });
const SeriesId = Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$', examples: ['pvpc'] });
/** Every 4xx/5xx answer: what kind of error and a message that says what was wrong. */
export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });
const JobParams = Type.Object({ id: Type.String({ examples: ['priceIngestion'] }) });

function badRequest(message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode: 400 });
}

function notFound(message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode: 404 });
}

export function registerRoutes(app: FastifyInstance, gw: HttpContext, guard: AuthGuard): void {
  const tz = gw.config.site.timezone;
  const slotOut = (s: StoredSlot) => ({
    start: formatUtcIso(s.start),
    end: formatUtcIso(s.end),
    start_local: formatLocalIso(s.start, tz),
    value: s.value,
    source: s.source,
    fetched_at: new Date(s.fetchedAt).toISOString(),
  });
  const knownSeries = (): string[] => mergeDescriptors(gw.catalog()).map((d) => d.id);
  const requireSeries = async (id: string): Promise<void> => {
    if (!knownSeries().includes(id) && !(await gw.store.meta(id))) throw notFound(`unknown series ${JSON.stringify(id)}; known: ${knownSeries().join(', ')}`);
  };
  const primaryPriceSeries = (): string | undefined => mergeDescriptors(gw.catalog()).find((d) => d.critical && d.unit === 'EUR/MWh')?.id;

  app.get('/health', { schema: { summary: 'Liveness: the process answers', tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String(), uptime_s: Type.Number() }) } } }, async () => ({
    status: 'ok' as const,
    version: VERSION,
    uptime_s: Math.round(gw.uptimeMs / 1000),
  }));

  app.get(
    '/healthz',
    { schema: { summary: 'Readiness: 200 when prices are fresh and plugins run, 503 with reasons otherwise; fresh Modbus sensor series are only counted (sensors), stale ones listed', tags: ['health'], response: { 200: Type.Any(), 503: Type.Any() } } },
    async (_req, reply) => {
      const report = await gw.health();
      // Fresh plant-floor points are counted, not listed: thousands of them would make every probe heavy.
      const sensorOnly = (s: (typeof report.series)[number]) => s.sources.length === 1 && s.sources[0] === 'modbus-sensors';
      const body = {
        state: report.state,
        reasons: report.reasons,
        plugins: report.plugins,
        sensors: { series: report.series.filter(sensorOnly).length, stale: report.series.filter((s) => sensorOnly(s) && s.stale).length },
        series: report.series.filter((s) => s.stale || !sensorOnly(s)).map((s) => ({
          id: s.id,
          stale: s.stale,
          stale_reason: s.staleReason,
          source: s.source,
          sources: s.sources,
          age_s: s.ageMs === null ? null : Math.round(s.ageMs / 1000),
          horizon_end: s.horizonEnd === null ? null : formatUtcIso(s.horizonEnd),
        })),
        mqtt: { connected: gw.mqtt.connected },
        store: report.store,
      };
      return reply.code(report.state === 'failed' ? 503 : 200).send(body);
    },
  );

  app.get(
    '/ree/prices',
    {
      schema: {
        summary: "The prototype's price contract: the next `hours` hours of the primary price series from the current hour",
        tags: ['prices'],
        querystring: Type.Object({ hours: Type.Integer({ minimum: 1, maximum: 168, default: 24 }), series: Type.Optional(SeriesId) }),
        response: {
          200: Type.Object({
            series: Type.String(),
            unit: Type.String(),
            stale: Type.Boolean(),
            count: Type.Integer(),
            prices: Type.Array(
              Type.Object({ timestamp: Type.String(), timestamp_local: Type.String(), end: Type.String(), price_eur_kwh: Type.Number(), price_eur_mwh: Type.Number(), source: Type.String() }),
            ),
          }),
          404: ErrorBody,
        },
      },
    },
    async (req) => {
      const { hours, series: requested } = req.query as { hours: number; series?: string };
      const series = requested ?? primaryPriceSeries();
      if (!series) throw notFound('no price source is enabled');
      await requireSeries(series);
      const now = gw.clock.now();
      const from = Math.floor(now / HOUR_MS) * HOUR_MS;
      const slots = await gw.store.read(series, from, from + hours * HOUR_MS);
      const status = (await gw.seriesStatuses()).find((s) => s.id === series);
      return {
        series,
        unit: 'EUR/kWh and EUR/MWh',
        stale: status?.stale ?? true,
        count: slots.length,
        prices: slots.map((s) => ({
          timestamp: formatUtcIso(s.start),
          timestamp_local: formatLocalIso(s.start, tz),
          end: formatUtcIso(s.end),
          price_eur_kwh: eurPerMwhToEurPerKwh(s.value),
          price_eur_mwh: s.value,
          source: s.source,
        })),
      };
    },
  );

  app.get(
    '/api/prices',
    {
      schema: {
        summary: 'Any stored price series over a range, raw or resampled hourly (€/MWh)',
        tags: ['prices'],
        querystring: Type.Object({
          series: SeriesId,
          from: Type.Optional(IsoOrDate),
          to: Type.Optional(IsoOrDate),
          resolution: Type.Union([Type.Literal('raw'), Type.Literal('hourly')], { default: 'raw' }),
        }),
        response: { 200: Type.Object({ series: Type.String(), unit: Type.String(), resolution: Type.String(), from: Type.String(), to: Type.String(), slots: Type.Array(Type.Any()) }), 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const q = req.query as { series: string; from?: string; to?: string; resolution: 'raw' | 'hourly' };
      await requireSeries(q.series);
      const now = gw.clock.now();
      // Local dates as the bill's and the export's (time-params.ts); by default the plant's today and tomorrow (23-25 h days).
      const from = q.from ? parseTimeParam('from', q.from, tz) : localDayRange(localDate(now, tz), tz).start;
      const to = q.to ? parseTimeParam('to', q.to, tz) : localDayRange(addDays(localDate(from, tz), 1), tz).end;
      if (to <= from) throw badRequest('"to" must be after "from"');
      if (to - from > 400 * DAY_MS) throw badRequest('range longer than 400 days; ask for less');
      const stored = await gw.store.read(q.series, from, to);
      const meta = await gw.store.meta(q.series);
      const slots =
        q.resolution === 'hourly'
          ? hourly(stored).map((s) => ({ start: formatUtcIso(s.start), end: formatUtcIso(s.end), start_local: formatLocalIso(s.start, tz), value: s.value }))
          : stored.map(slotOut);
      return { series: q.series, unit: meta?.unit ?? 'unknown', resolution: q.resolution, from: formatUtcIso(from), to: formatUtcIso(to), slots };
    },
  );

  app.get('/api/series', { schema: { summary: 'Every series with its sources, freshness and horizon', tags: ['prices'] } }, async () =>
    (await gw.seriesStatuses()).map((s) => ({
      id: s.id,
      unit: s.unit,
      description: s.description,
      sources: s.sources,
      last_source: s.source,
      fetched_at: s.fetchedAt === null ? null : new Date(s.fetchedAt).toISOString(),
      age_s: s.ageMs === null ? null : Math.round(s.ageMs / 1000),
      stale: s.stale,
      stale_reason: s.staleReason,
      current: s.current ? slotOut(s.current) : null,
      horizon_end: s.horizonEnd === null ? null : formatUtcIso(s.horizonEnd),
    })),
  );

  app.get('/scheduler/status', { schema: { summary: 'Every job: last run, duration, outcome, last error, next run', tags: ['scheduler'] } }, async () => ({
    timezone: gw.config.scheduler.timezone,
    now: new Date(gw.clock.now()).toISOString(),
    jobs: gw.scheduler.status(),
  }));

  for (const action of ['trigger', 'pause', 'resume'] as const) {
    app.post(
      `/scheduler/jobs/:id/${action}`,
      {
        preHandler: guard,
        schema: { summary: `${action[0]!.toUpperCase()}${action.slice(1)} a job (bearer token)`, tags: ['scheduler'], params: JobParams, security: [{ bearer: [] }], response: { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        try {
          if (action === 'trigger') return await gw.scheduler.trigger(id);
          return action === 'pause' ? gw.scheduler.pause(id) : gw.scheduler.resume(id);
        } catch (error) {
          if (error instanceof UnknownJobError) throw notFound(error.message);
          throw error;
        }
      },
    );
  }

  app.post(
    '/api/store/losses/acknowledge',
    {
      preHandler: guard,
      schema: { summary: 'Acknowledge the store losses reported in health (after a repair, restore or re-fetch); bearer token', tags: ['store'], security: [{ bearer: [] }], response: { 401: ErrorBody, 403: ErrorBody } },
    },
    async () => {
      const acknowledged = gw.store.acknowledgeLosses();
      return { acknowledged, store: gw.store.integrity() };
    },
  );

  app.get(
    '/api/store/verify',
    {
      schema: {
        summary: 'Data verification: per series, slot counts, latest records and missing ranges over the last `days` days',
        tags: ['store'],
        querystring: Type.Object({ days: Type.Integer({ minimum: 1, maximum: 366, default: 7 }), series: Type.Optional(SeriesId) }),
      },
    },
    async (req) => {
      const { days, series } = req.query as { days: number; series?: string };
      if (series) await requireSeries(series);
      const now = gw.clock.now();
      const from = now - days * DAY_MS;
      const ids = series ? [series] : [...new Set([...knownSeries(), ...(await gw.store.listSeries()).map((m) => m.id)])];
      const out = [];
      for (const id of ids) {
        const slots = await gw.store.read(id, from, now + 2 * DAY_MS);
        const gaps = await gw.store.gaps(id, from, Math.floor(now / HOUR_MS) * HOUR_MS);
        out.push({
          series: id,
          unit: (await gw.store.meta(id))?.unit ?? null,
          total: await gw.store.count(id),
          in_window: slots.length,
          latest: slots.slice(-3).map(slotOut),
          gaps: gaps.map((g) => ({ start: formatUtcIso(g.start), end: formatUtcIso(g.end), hours: Math.round(((g.end - g.start) / HOUR_MS) * 100) / 100 })),
        });
      }
      return { from: formatUtcIso(from), to: formatUtcIso(now), series: out };
    },
  );
}
