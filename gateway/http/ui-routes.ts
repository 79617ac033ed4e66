import { readFileSync } from 'node:fs';
import { fieldDevices } from './field-devices.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from './context.js';
import { alertJson } from './alert-groups.js';
import { TARIFFS, tariffPeriod } from '../planner/tariff.js';
import { planRecommendationAt } from '../planner/recommendation.js';
import { eurPerMwhToEurPerKwh, hourly } from '../series/slots.js';
import { DAY_MS, HOUR_MS, formatLocalIso, formatUtcIso, localDate, localDayRange, addDays } from '../time/tz.js';
import { PROJECT_ROOT } from '../util/version.js';
import { VERSION } from '../util/version.js';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { backupLines } from '../series/backup.js';
import { groupAlerts } from './alert-groups.js';
import { ErrorBody } from './routes.js';
import { parseTimeParam } from './time-params.js';
import type { AuthGuard } from './auth.js';

/** The embedded default site name, and how the Spanish page says it. */
const DEFAULT_SITE = { en: 'Chocolate factory, Linares (Jaén)', es: 'Fábrica de chocolate, Linares (Jaén)' };

/** The site name per page language: `site.names` first, then `site.name` (the default name comes in both). */
export function siteNames(site: { name: string; names?: { es?: string; en?: string } }): { es: string; en: string } {
  const builtIn = site.name === DEFAULT_SITE.en ? DEFAULT_SITE : { es: site.name, en: site.name };
  return { es: site.names?.es ?? builtIn.es, en: site.names?.en ?? builtIn.en };
}

/**
 * A job as the page shows it: a run that completed but whose every handler said it skipped its work
 * ("recalibration skipped: …") is shown as skipped, as the accuracy panel says, not as ok.
 */
export function shownJob<J extends { lastRun: { outcome: string; summary: string } | null }>(job: J): J {
  const run = job.lastRun;
  if (!run || run.outcome !== 'ok' || !run.summary) return job;
  const parts = run.summary.split(' | ');
  return parts.every((p) => /^(?:[\w-]+: )?[\w-]+ skipped: /.test(p)) ? { ...job, lastRun: { ...run, outcome: 'skipped' } } : job;
}

const require = createRequire(import.meta.url);
const UPLOT_DIR = join(dirname(require.resolve('uplot/package.json')), 'dist');
const PAGE_DIR = join(PROJECT_ROOT, 'gateway', 'http', 'status-page');

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: join(PAGE_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/ui/app.js': { file: join(PAGE_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/style.css': { file: join(PAGE_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/ui/i18n.js': { file: join(PAGE_DIR, 'i18n.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/bill.js': { file: join(PAGE_DIR, 'bill.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/energy.js': { file: join(PAGE_DIR, 'energy.js'), type: 'text/javascript; charset=utf-8' },
  '/favicon.svg': { file: join(PAGE_DIR, 'favicon.svg'), type: 'image/svg+xml' },
  '/favicon.ico': { file: join(PAGE_DIR, 'favicon.svg'), type: 'image/svg+xml' },
  '/ui/vendor/uPlot.iife.min.js': { file: join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/ui/vendor/uPlot.min.css': { file: join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/**
 * The status page's Content-Security-Policy: its own scripts, styles and API only (uPlot is served from here), no
 * inline script or style attribute, no framing (the page has a token field), no plugins, forms only to itself.
 */
export const STATUS_PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const csvCell = (x: unknown) => {
  const s = String(x ?? '');
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function registerUiRoutes(app: FastifyInstance, gw: HttpContext, guard: AuthGuard): void {
  const tz = gw.config.site.timezone;
  const ui = gw.config.ui;
  const predictions = () => gw.predictions();
  const planner = () => gw.planner();

  if (ui.enabled) {
    for (const [path, { file, type }] of Object.entries(STATIC)) {
      app.get(path, { schema: { hide: true } }, async (_req, reply) =>
        reply.header('content-type', type).header('content-security-policy', STATUS_PAGE_CSP).header('referrer-policy', 'no-referrer').header('cache-control', path.includes('vendor') ? 'public, max-age=86400' : 'no-cache').send(readFileSync(file)),
      );
    }
  }

  /** Everything the status page shows, in one answer. */
  app.get('/api/status', { schema: { summary: 'What the status page shows: current values with source and age, chart series, plan, lines, alerts, health', tags: ['ui'] } }, async () => {
    const now = gw.clock.now();
    const series = await gw.seriesStatuses();
    const status = (id: string) => series.find((s) => s.id === id);
    const primary = series.find((s) => s.critical && s.unit === 'EUR/MWh');
    const calendar = TARIFFS[gw.config.planner.tariff]!;
    const period = tariffPeriod(calendar, now, tz);
    const adder = { ...calendar.adders, ...gw.config.planner.adders }[period] ?? 0;
    const value = (id: string) => {
      const s = status(id);
      return s ? { value: s.current?.value ?? null, source: s.source, at: s.current ? formatUtcIso(s.current.start) : null, age_s: s.ageMs === null ? null : Math.round(s.ageMs / 1000), stale: s.stale, stale_reason: s.staleReason } : null;
    };
    const today = localDate(now, tz);
    const from = localDayRange(addDays(today, -1), tz).start;
    const to = localDayRange(addDays(today, 1), tz).end;
    const published = primary ? await gw.store.read(primary.id, from, to) : [];
    const forecast = primary ? await gw.store.read(`forecast.${primary.id}`, from, to) : [];
    const f = predictions();
    const priceForecast = f ? await f.service.priceForecast(now).catch(() => undefined) : undefined;
    const band = (priceForecast?.slots ?? []).map((s) => ({ start: formatUtcIso(s.start), low: s.low, high: s.high, value: s.value }));
    const temps = (id: string, a: number, b: number) => gw.store.read(id, a, b).then((xs) => hourly(xs).map((s) => ({ start: formatUtcIso(s.start), value: s.value })));
    const rec = f ? await f.service.recommendations(now, 1, priceForecast).catch((e: Error) => ({ error: e.message })) : { error: 'models disabled' };
    // The plant floor: the Modbus points that measure temperature or humidity, as /api/sensors reads them.
    const sensors = Object.fromEntries(Object.entries(gw.sensorReadings() ?? {}).filter(([, r]) => r.unit === 'degC' || r.unit === 'percent'));
    const plan = planner()?.current() ?? null;
    const planRec = planRecommendationAt(plan, now);
    const current = primary?.current ?? null;
    return {
      version: VERSION,
      site: gw.config.site,
      /** The site name in each page language (site.names, else site.name; the default name has its Spanish one). */
      site_name: siteNames(gw.config.site),
      now: formatUtcIso(now),
      now_local: formatLocalIso(now, tz),
      language: ui.language,
      /** Set while recorded data is replayed (the demo): the simulated time and speed, shown as a banner. */
      replay: gw.replay()?.status() ?? null,
      /** The write-nothing mode (outputs.dryRun): shown as a banner while it is on. */
      outputs: {
        dry_run: gw.outputs.dryRun,
        since: formatUtcIso(gw.outputs.state().at),
        by: gw.outputs.state().by,
        reason: gw.outputs.state().reason,
        lines: gw.outputs.lineStates().map((l) => l.line),
        held_back: gw.outputs.wouldWrites().length,
        would_write: gw.outputs.wouldWrites().map((w) => ({ via: w.via, target: w.target, what: w.what, values: w.values, last_at: formatUtcIso(w.lastAt) })),
      },
      thresholds: { green_below: ui.priceGreenBelowEurKwh, red_above: ui.priceRedAboveEurKwh },
      price: primary
        ? {
            series: primary.id,
            energy_eur_kwh: current ? eurPerMwhToEurPerKwh(current.value) : null,
            adder_eur_kwh: adder,
            total_eur_kwh: current ? Math.round((eurPerMwhToEurPerKwh(current.value) + adder) * 100_000) / 100_000 : null,
            period,
            tariff: calendar.name,
            source: primary.source,
            age_s: primary.ageMs === null ? null : Math.round(primary.ageMs / 1000),
            stale: primary.stale,
            stale_reason: primary.staleReason,
          }
        : null,
      outdoor: { temp: value('obs.combined.temp'), rh: value('obs.combined.rh') },
      floor: Object.fromEntries(Object.entries(sensors).map(([k, v]) => [k, { value: v.value, unit: v.unit, at: v.at, state: v.state, device: v.device, age_s: v.at ? Math.round((now - Date.parse(v.at)) / 1000) : null, stale: v.state !== 'ok' }])),
      /** The one recommendation: the plan's class for this hour (gateway/planner/recommendation.ts). */
      recommendation: planRec ? { source: 'plan', ...planRec } : { error: plan ? 'the plan does not cover this hour' : 'no plan yet' },
      /** The production-recommender model's class for this hour: an input of the plan, shown as such. */
      model_recommendation: 'error' in rec ? { error: rec.error } : rec.hours[0] ? { ...rec.hours[0], start: formatUtcIso(rec.hours[0].start), end: formatUtcIso(rec.hours[0].end), version: rec.version } : { error: 'no hour to recommend' },
      charts: {
        prices: published.map((s) => ({ start: formatUtcIso(s.start), value: s.value })),
        // The line is the median of the band's own forecast (which starts after the last published price and so often
        // lies past tomorrow); the stored forecast only when no forecast could be made now.
        forecast: band.length ? band.map((s) => ({ start: s.start, value: s.value })) : forecast.filter((s) => !published.some((p) => p.start === s.start)).map((s) => ({ start: formatUtcIso(s.start), value: s.value })),
        band,
        temp_observed: await temps('obs.combined.temp', now - DAY_MS, now + HOUR_MS),
        temp_forecast: await temps('fc.combined.temp', now, now + 2 * DAY_MS),
        rh_observed: await temps('obs.combined.rh', now - DAY_MS, now + HOUR_MS),
        rh_forecast: await temps('fc.combined.rh', now, now + 2 * DAY_MS),
        accuracy: f ? await f.accuracy(now) : [],
        recalibration: f ? { status: f.recalibration().status, summary: f.recalibration().summary, at: f.recalibration().at === null ? null : formatUtcIso(f.recalibration().at!) } : null,
      },
      plan,
      lines: planner()?.lines() ?? [],
      devices: fieldDevices(gw.pluginHealth()),
      alert_groups: groupAlerts(gw.alerts.recent()),
      alerts: gw.alerts.recent(50).map(alertJson),
      health: {
        plugins: gw.pluginHealth(),
        series: series.map((s) => ({ id: s.id, source: s.source, stale: s.stale, stale_reason: s.staleReason, age_s: s.ageMs === null ? null : Math.round(s.ageMs / 1000) })),
        jobs: gw.scheduler.status().map(shownJob),
        models: f?.registry.loaded().map((m) => ({ name: m.name, version: m.version, inferences: m.inferences, backend: f.registry.backend?.name })) ?? [],
        broker: { connected: gw.mqtt.connected, clients: gw.broker?.connectedClients ?? null },
      },
    };
  });

  /** Server-sent events: one `update` per change on the bus, so the page re-reads /api/status. */
  app.get('/api/events', { schema: { summary: 'Server-sent events: series, plan, alert and job changes', tags: ['ui'] } }, (req, reply) => {
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    reply.raw.write(`retry: 2000\n\n`);
    const owner = `sse-${Math.random().toString(36).slice(2)}`;
    const send = (kind: string, data: unknown) => reply.raw.write(`event: update\ndata: ${JSON.stringify({ kind, ...((data as object) ?? {}) })}\n\n`);
    gw.bus.on('series.updated', owner, (e) => send('series', { series: e.series }));
    gw.bus.on('plan.updated', owner, (e) => send('plan', { version: e.version }));
    gw.bus.on('alert', owner, (e) => send('alert', { code: e.code }));
    gw.bus.on('job.finished', owner, (e) => send('job', { job: e.job }));
    // A stop ends the stream first (the page reconnects to the next start by itself), so it never holds the stop up.
    gw.bus.on('gateway.stopping', owner, () => reply.raw.end());
    const ping = setInterval(() => reply.raw.write(`: ping\n\n`), 15_000);
    req.raw.on('close', () => {
      clearInterval(ping);
      gw.bus.removeOwner(owner);
    });
  });

  app.get('/api/store/backup', { preHandler: guard, schema: { summary: 'A live backup of the store as gzipped JSON lines (bearer token)', tags: ['store'], security: [{ bearer: [] }], response: { 401: ErrorBody, 403: ErrorBody } } }, async (_req, reply) => {
    const stream = Readable.from(backupLines(gw.store, { version: VERSION, configText: null, now: gw.clock.now() })).pipe(createGzip());
    return reply.header('content-type', 'application/gzip').header('content-disposition', 'attachment; filename="choco-edge-backup.jsonl.gz"').send(stream);
  });

  app.post('/api/alerts/:id/ack', { preHandler: guard, schema: { summary: 'Acknowledge an alert (bearer token)', tags: ['plan'], params: Type.Object({ id: Type.Integer({ minimum: 1 }) }), security: [{ bearer: [] }], response: { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } } }, async (req, reply) => {
    const { id } = req.params as { id: number };
    const alert = gw.alerts.acknowledge(id, 'token');
    if (!alert) return reply.code(404).send({ error: 'not found', message: `no alert ${id}` });
    return alertJson(alert);
  });

  app.get(
    '/api/export',
    {
      schema: {
        summary: 'CSV export of any stored series for a range: from and to are local dates (YYYY-MM-DD, the plant time zone) or ISO timestamps with offset or Z',
        tags: ['store'],
        querystring: Type.Object({ series: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' }), from: Type.String(), to: Type.String() }),
      },
    },
    async (req, reply) => {
      const q = req.query as { series: string; from: string; to: string };
      // a date is the plant's local day (2025-10-26 to 2025-10-27: 25 hours); a timestamp needs its offset
      const from = parseTimeParam('from', q.from, tz);
      const to = parseTimeParam('to', q.to, tz);
      if (to <= from) return reply.code(400).send({ error: 'bad request', message: `"to" (${q.to}) must come after "from" (${q.from}); the range is [from, to)` });
      if (to - from > 400 * DAY_MS) return reply.code(400).send({ error: 'bad request', message: 'range longer than 400 days' });
      const meta = await gw.store.meta(q.series);
      if (!meta) return reply.code(404).send({ error: 'not found', message: `unknown series ${JSON.stringify(q.series)}` });
      const rows = (await gw.store.read(q.series, from, to)).map((s) => [formatUtcIso(s.start), formatUtcIso(s.end), formatLocalIso(s.start, tz), s.value, meta.unit, s.source, new Date(s.fetchedAt).toISOString()].map(csvCell).join(','));
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${q.series}_${q.from.slice(0, 10)}_${q.to.slice(0, 10)}.csv"`)
        .send(['start_utc,end_utc,start_local,value,unit,source,fetched_at', ...rows].join('\n') + '\n');
    },
  );
}
