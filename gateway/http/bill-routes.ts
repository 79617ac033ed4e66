import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { BillPlugin } from '../../plugins/bill/index.js';
import { billsCsv, savingsCsv, savingsPayload, type BillPayload } from '../bill/payloads.js';
import { addDays, localDate } from '../time/tz.js';
import type { HttpContext } from './context.js';
import { checkDateParam } from './time-params.js';
import { ErrorBody } from './routes.js';

/** Every bill route answers 409 while the bill is off (no contract or no site meter), 400 on a bad range. */
const BILL_ERRORS = { 400: ErrorBody, 409: ErrorBody };

const DateRange = Type.Object({
  from: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'first local date (Europe/Madrid)' }),
  to: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'local date after the last one (the range is [from, to))' }),
});
const Month = Type.Object({ month: Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description: 'calendar month YYYY-MM' }) });

/** The printable report page: no script at all; its only style is inline. */
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const T = {
  es: { title: 'Factura eléctrica mensual', meter: 'Contador', tariff: 'Peaje', pricing: { indexed: 'indexado (OMIE + margen)', fixed: 'precio fijo por periodo' }, period: 'Periodo', kwh: 'Energía kWh', energy: 'Término de energía €', power: 'Término de potencia €', pc: 'Potencia contratada kW', excess: 'Excesos de potencia €', above: 'Cuartos de hora por encima', max: 'Máx. kW', maxAt: 'Máx. a las (hora local)', rule: { 'quarter-hour': (tep: string) => `Excesos de potencia por cuartos de hora: por periodo Kp × ${tep} €/kW × √Σ(Pd − Pc)² sobre los cuartos de hora por encima de la potencia contratada (Circular CNMC 3/2020 art. 9).`, maximetro: (tep: string, days: string) => `Excesos de potencia por maxímetro: por periodo 2 × (Pmáx − Pc) × ${tep} €/kW × ${days} días / 30, Pmáx la mayor demanda cuartohoraria del mes en el periodo; 0 si no supera Pc (Circular CNMC 3/2020 art. 9).` }, tax: 'Impuesto eléctrico €', vat: 'IVA €', total: 'Total €', partial: 'Parcial: faltan cuartos de hora medidos', projected: 'Previsión a fin de mes (estimación)', coverage: 'Cuartos de hora medidos / interpolados / faltan / sin precio', simulatedMeter: 'Contador SIMULADO (demo): estas cifras no son medidas de un contador real. Origen del contador:', rounding: 'Cada término se calcula con precisión completa y se redondea una vez al céntimo; el total es la suma de los términos redondeados. Valores por defecto del contrato: compruébelos con su contrato.' },
  en: { title: 'Monthly electricity bill', meter: 'Meter', tariff: 'Access tariff', pricing: { indexed: 'indexed (OMIE + margin)', fixed: 'fixed price per period' }, period: 'Period', kwh: 'Energy kWh', energy: 'Energy term €', power: 'Power term €', pc: 'Contracted power kW', excess: 'Excess power €', above: 'Quarter-hours above', max: 'Max kW', maxAt: 'Max at (local time)', rule: { 'quarter-hour': (tep: string) => `Excess power by quarter-hours: per period Kp × ${tep} €/kW × √Σ(Pd − Pc)² over the quarter-hours above the contracted power (CNMC Circular 3/2020 art. 9).`, maximetro: (tep: string, days: string) => `Excess power by maxímetro: per period 2 × (Pmax − Pc) × ${tep} €/kW × ${days} days / 30, Pmax the month's highest quarter-hour demand in the period; 0 when it is not above Pc (CNMC Circular 3/2020 art. 9).` }, tax: 'Electricity tax €', vat: 'VAT €', total: 'Total €', partial: 'Partial: measured quarter-hours are missing', projected: 'Projected to the month end (forecast)', coverage: 'Quarter-hours measured / interpolated / missing / unpriced', simulatedMeter: 'SIMULATED meter (demo): these figures are not measured by a real meter. Meter source:', rounding: 'Each term is computed in full precision and rounded once to the cent; the total is the sum of the rounded terms. Contract defaults: check them against your contract.' },
};

/** The printable monthly report (HTML, print-friendly, no script). */
export function monthReportHtml(b: BillPayload, lang: 'es' | 'en', site: string): string {
  const t = T[lang];
  const locale = lang === 'es' ? 'es-ES' : 'en-GB';
  const fmt = (x: number, d: number) => new Intl.NumberFormat(locale, { minimumFractionDigits: d, maximumFractionDigits: d }).format(x);
  const eur = (x: number | null) => (x === null ? '—' : fmt(x, 2));
  const rows = b.periods
    .map((p) => `<tr><td>P${p.period}</td><td>${fmt(p.energy_kwh, 3)}</td><td>${eur(p.energy_eur)}</td><td>${p.contracted_kw === null ? '—' : fmt(p.contracted_kw, 0)}</td><td>${eur(p.power_eur)}</td><td>${p.quarter_hours_above ?? '—'}</td><td>${p.max_kw === null ? '—' : fmt(p.max_kw, 1)}</td><td>${p.max_at_local === null ? '—' : esc(p.max_at_local.slice(0, 16).replace('T', ' '))}</td><td>${eur(p.excess_eur)}</td></tr>`)
    .join('');
  const c = b.coverage;
  const tep = b.excess_tep_eur_kw === null ? '' : fmt(b.excess_tep_eur_kw, 4);
  const excessRule =
    b.excess_metering === 'maximetro' ? `<p class="rule">${esc(t.rule.maximetro(tep, fmt(b.excess_days ?? 0, Number.isInteger(b.excess_days) ? 0 : 2)))}</p>` : b.excess_metering === 'quarter-hour' ? `<p class="rule">${esc(t.rule['quarter-hour'](tep))}</p>` : '';
  const terms = (x: BillPayload['terms']) =>
    `<tr><th>${t.energy}</th><td>${eur(x.energy_eur)}</td></tr><tr><th>${t.power}</th><td>${eur(x.power_eur)}</td></tr><tr><th>${t.excess}</th><td>${eur(x.excess_eur)}</td></tr><tr><th>${t.tax}</th><td>${eur(x.tax_eur)}</td></tr><tr><th>${t.vat}</th><td>${eur(x.vat_eur)}</td></tr><tr class="total"><th>${t.total}</th><td>${eur(x.total_eur)}</td></tr>`;
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${esc(t.title)} ${esc(b.from_local.slice(0, 7))}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}th{text-align:left;background:#f3f3f3}.total th,.total td{font-weight:bold}.warn{color:#a40}@media print{body{margin:0}}</style></head>
<body><h1>${esc(t.title)} ${esc(b.from_local.slice(0, 7))}</h1>
<p>${esc(site)} · ${t.meter}: ${esc(b.meter)} · ${t.tariff}: ${esc(b.tariff)} · ${esc(t.pricing[b.energy_pricing])} · ${esc(b.from_local)} – ${esc(b.to_local)}</p>
${b.provenance !== 'measured' ? `<p class="warn">${t.simulatedMeter} <span lang="en" translate="no">${esc(b.provenance)}</span></p>` : ''}
${b.measured === 'partial' ? `<p class="warn">${t.partial}</p>` : ''}
<table><thead><tr><th>${t.period}</th><th>${t.kwh}</th><th>${t.energy}</th><th>${t.pc}</th><th>${t.power}</th><th>${t.above}</th><th>${t.max}</th><th>${t.maxAt}</th><th>${t.excess}</th></tr></thead><tbody>${rows}</tbody></table>
${excessRule}
<table><tbody><tr><th>${t.kwh}</th><td>${fmt(b.terms.energy_kwh, 3)}</td></tr>${terms(b.terms)}</tbody></table>
${b.projected ? `<h2>${t.projected}</h2><table><tbody>${terms(b.projected)}</tbody></table>` : ''}
<p>${t.coverage}: ${c.measured} / ${c.interpolated} / ${c.missing} / ${c.unpriced} (${c.expected})</p>
<p><small>${t.rounding}</small></p></body></html>`;
}

export function registerBillRoutes(app: FastifyInstance, gw: HttpContext): void {
  const bill = (): BillPlugin => {
    const b = gw.bill?.();
    if (!b) throw Object.assign(new Error('the bill is off: it needs energy.contract and a site meter in energy.meters (see /api/health)'), { statusCode: 409 });
    return b;
  };
  const range = (q: { from: string; to: string }) => {
    checkDateParam('from', q.from);
    checkDateParam('to', q.to);
    if (q.to <= q.from) throw Object.assign(new Error(`"to" (${q.to}) must come after "from" (${q.from}); the range is [from, to)`), { statusCode: 400 });
    if (q.to > addDays(q.from, 400)) throw Object.assign(new Error('range longer than 400 days'), { statusCode: 400 });
    return q;
  };
  app.get('/api/bill', { schema: { summary: "The site's measured bill: today so far, the month to date with its projection (a forecast), per period and per line meter; the power now against the current period's contracted power; the measured savings", tags: ['bill'], response: BILL_ERRORS } }, async () => bill().summary());
  app.get('/api/bill/days', { schema: { summary: 'Daily bills of the site meter (energy, power by days; the excess term is monthly), amounts to the cent', tags: ['bill'], response: BILL_ERRORS, querystring: DateRange } }, async (req) => {
    const q = range(req.query as { from: string; to: string });
    return bill().days(q.from, q.to);
  });
  app.get('/api/bill/days.csv', { schema: { summary: 'The daily bills as CSV', tags: ['bill'], response: BILL_ERRORS, querystring: DateRange } }, async (req, reply) => {
    const q = range(req.query as { from: string; to: string });
    return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="bill_days_${q.from}_${q.to}.csv"`).send(billsCsv(await bill().days(q.from, q.to)));
  });
  app.get('/api/bill/month/:month', { schema: { summary: "A calendar month's bill of the site meter by period (to date with its projection while the month runs)", tags: ['bill'], response: { ...BILL_ERRORS, 404: ErrorBody }, params: Month } }, async (req) => bill().month(checkDateParam('month', (req.params as { month: string }).month)));
  app.get('/api/bill/month/:month/report', { schema: { summary: 'The printable monthly report (HTML; ?lang=es|en)', tags: ['bill'], response: { ...BILL_ERRORS, 404: ErrorBody }, params: Month, querystring: Type.Object({ lang: Type.Optional(Type.Union([Type.Literal('es'), Type.Literal('en')])) }) } }, async (req, reply) => {
    const b = await bill().month(checkDateParam('month', (req.params as { month: string }).month));
    const lang = (req.query as { lang?: 'es' | 'en' }).lang ?? gw.config.ui.language;
    return reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', REPORT_CSP).header('referrer-policy', 'no-referrer').send(monthReportHtml(b, lang, gw.config.site.names?.[lang] ?? gw.config.site.name ?? gw.config.site.id));
  });
  app.get('/api/savings', { schema: { summary: 'Measured savings against the fixed-shift baseline, per closed day (stored once, never recomputed), ISO week and month; not measured days are listed, never counted as zero', tags: ['bill'], response: BILL_ERRORS, querystring: Type.Partial(DateRange) } }, async (req) => {
    const q = req.query as { from?: string; to?: string };
    const today = localDate(gw.clock.now(), gw.config.site.timezone);
    const r = range({ from: q.from ?? addDays(today, -31), to: q.to ?? addDays(today, 1) });
    return savingsPayload(await bill().closedDays(r.from, r.to), gw.clock.now());
  });
  app.get('/api/savings/days.csv', { schema: { summary: 'The closed days as CSV', tags: ['bill'], response: BILL_ERRORS, querystring: DateRange } }, async (req, reply) => {
    const q = range(req.query as { from: string; to: string });
    return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="savings_${q.from}_${q.to}.csv"`).send(savingsCsv(await bill().closedDays(q.from, q.to)));
  });
  app.get('/api/savings/day/:date', { schema: { summary: 'One closed day as stored, with the prices and contract it was priced with', tags: ['bill'], response: { ...BILL_ERRORS, 404: ErrorBody }, params: Type.Object({ date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }) }) } }, async (req, reply) => {
    const date = checkDateParam('date', (req.params as { date: string }).date);
    const [day] = await bill().closedDays(date, addDays(date, 1));
    if (!day) {
      const today = localDate(gw.clock.now(), gw.config.site.timezone);
      const why = date >= addDays(today, -1) ? `it is not closed yet (today is ${today}; a day closes an hour after its last run ended)` : 'the gateway did not close that day (it was not running then, or not yet installed)';
      return reply.code(404).send({ error: 'not found', message: `no measured savings stored for ${date}: ${why}` });
    }
    return day;
  });
}
