import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from './context.js';
import { ErrorBody } from './routes.js';
import { readMeterQuarterHours } from '../meters/quarter-hours.js';
import { resolveContract } from '../contract/contract.js';
import { AdviceInputError, advisePower, MAX_STEP_KW, MIN_STEP_KW } from '../contract/advise-power.js';
import { formatLocalIso, formatUtcIso, localDate, localDayRange } from '../time/tz.js';
import { cents } from '../bill/money.js';

const BASE_LOAD_SERIES = 'forecast.site.base_load';

/**
 * Issue #22 routes: the contracted-power advice on the site meter's stored quarter-hours, the quarter-hour guard's
 * state, and the base-load forecast. Read-only, like the other GET routes.
 */
export function registerEnergyRoutes(app: FastifyInstance, gw: HttpContext): void {
  const tz = gw.config.site.timezone;
  const fail = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });

  app.get(
    '/api/energy/advice',
    {
      schema: {
        summary: 'Contracted powers P1..P6 (non-decreasing) minimising power term + excess power over the site meter\'s last months, against the current contract (README "Contracted-power advice")',
        tags: ['energy'],
        response: { 409: ErrorBody },
        querystring: Type.Object({
          months: Type.Integer({ minimum: 1, maximum: 12, default: 12, description: 'months of stored quarter-hours before today' }),
          stepKw: Type.Number({ minimum: MIN_STEP_KW, maximum: MAX_STEP_KW, default: 1, description: 'grid of the advised powers, kW (0.001 = 1 W at the finest)' }),
        }),
      },
    },
    async (req) => {
      const { months, stepKw } = req.query as { months: number; stepKw: number };
      const cfg = gw.config.energy.contract;
      if (!cfg) throw fail(409, 'no energy.contract configured: the advice needs the supply contract');
      const meter = gw.config.energy.meters.find((m) => m.role === 'site');
      if (!meter) throw fail(409, 'no site meter configured (energy.meters with role site): the advice needs its quarter-hours');
      const contract = resolveContract(cfg);
      const to = localDayRange(localDate(gw.clock.now(), tz), tz).start;
      const fromDate = new Date(to);
      fromDate.setUTCMonth(fromDate.getUTCMonth() - months);
      const from = localDayRange(localDate(fromDate.getTime() + 12 * 3_600_000, tz), tz).start;
      const stored = await readMeterQuarterHours(gw.store, meter.name, from, to);
      const known = stored.filter((q) => q.kwh !== null).map((q) => ({ start: q.start, kwh: q.kwh! }));
      let advice;
      try {
        advice = advisePower(contract, known, { stepKw, timezone: tz });
      } catch (error) {
        if (error instanceof AdviceInputError) throw fail(422, error.message);
        throw error;
      }
      const expected = Math.round((to - from) / 900_000);
      return {
        meter: meter.name,
        from: formatUtcIso(from),
        to: formatUtcIso(to),
        quarter_hours: { expected, used: known.length, missing: expected - known.length },
        note: known.length < expected ? 'quarter-hours without a measurement are left out: the excess of those months may be understated' : null,
        current_kw: contract.contractedKw,
        advised_kw: advice.advisedKw,
        peak_kw: advice.peakKw,
        current: { power_eur: round2(advice.current.powerEur), excess_eur: round2(advice.current.excessEur), total_eur: round2(advice.current.totalEur) },
        advised: { power_eur: round2(advice.advised.powerEur), excess_eur: round2(advice.advised.excessEur), total_eur: round2(advice.advised.totalEur) },
        saving_eur: round2(advice.savingEur),
        days: advice.days,
        months: advice.months,
        period_quarter_hours: advice.periodQuarterHours,
        warnings: advice.warnings,
      };
    },
  );

  app.get('/api/energy/guard', { schema: { summary: 'The quarter-hour guard (maxímetro): projected average against the period\'s limit, and what it deferred and why', tags: ['energy'] } }, async () => {
    const h = gw.pluginHealth()['power-guard'];
    if (!h) throw fail(404, 'the quarter-hour guard is not running (energy.powerGuard.enabled)');
    return h;
  });

  app.get(
    '/api/energy/base-load',
    { schema: { summary: 'The forecast of the site\'s unplanned load per quarter-hour (kW), and how it was made', tags: ['energy'], querystring: Type.Object({ hours: Type.Integer({ minimum: 1, maximum: 48, default: 48 }) }) } },
    async (req) => {
      const { hours } = req.query as { hours: number };
      const now = gw.clock.now();
      const slots = await gw.store.read(BASE_LOAD_SERIES, now - 900_000, now + hours * 3_600_000);
      return { model: gw.pluginHealth()['site-load'] ?? null, slots: slots.map((s) => ({ start: formatUtcIso(s.start), start_local: formatLocalIso(s.start, tz), kw: s.value, label: 'forecast' })) };
    },
  );
}

const round2 = cents;
