import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { PredictionsPlugin } from '../../plugins/predictions/index.js';
import type { HttpContext } from './context.js';
import { InferenceRefused, PRICE_MODEL, RECOMMENDER_MODEL } from '../inference/service.js';
import { legacyScores } from '../inference/prototype-scores.js';
import { QUARTER_HOUR_MS } from '../series/slots.js';
import { formatLocalIso, formatUtcIso } from '../time/tz.js';
import type { AuthGuard } from './auth.js';

const LegacyBody = Type.Object(
  {
    price_eur_kwh: Type.Number({ minimum: -1, maximum: 10, examples: [0.18] }),
    temperature: Type.Number({ minimum: -30, maximum: 60, examples: [23.5] }),
    humidity: Type.Number({ minimum: 0, maximum: 100, examples: [55] }),
  },
  { additionalProperties: false },
);
const Horizon = Type.Object({ horizon: Type.Optional(Type.Integer({ minimum: 1, maximum: 48 })) });

export function registerModelRoutes(app: FastifyInstance, gw: HttpContext, guard: AuthGuard): void {
  const tz = gw.config.site.timezone;
  const plugin = (): PredictionsPlugin => {
    const p = gw.predictions();
    if (!p) throw Object.assign(new Error('models are disabled (models.enabled) or failed to start'), { statusCode: 503 });
    return p;
  };
  const refused = (reply: FastifyReply, error: unknown) => {
    if (error instanceof InferenceRefused) return reply.code(422).send({ status: 'refused', model: error.model, reason: error.message });
    throw error;
  };

  app.get('/models/status', { schema: { summary: 'Each model: active version, metrics from its card, backend, load and inference times, input freshness, live accuracy', tags: ['models'] } }, async () => {
    const p = plugin();
    const now = gw.clock.now();
    const series = await gw.seriesStatuses();
    const fresh = (id: string) => {
      const s = series.find((x) => x.id === id);
      return s ? { series: id, stale: s.stale, age_s: s.ageMs === null ? null : Math.round(s.ageMs / 1000), reason: s.staleReason } : { series: id, stale: true, age_s: null, reason: 'no source writes it' };
    };
    return {
      backend: p.registry.backend ?? null,
      models: p.registry.loaded().map((m) => ({
        name: m.name,
        version: m.version,
        available_versions: p.registry.candidates(m.name).map((c) => c.version),
        card_metrics: m.card.evaluation ?? null,
        created: m.card.created,
        load_ms: m.loadMs,
        loaded_at: new Date(m.loadedAt).toISOString(),
        inferences: m.inferences,
        last_inference_at: m.lastInferenceAt === null ? null : new Date(m.lastInferenceAt).toISOString(),
        last_inference_ms: m.lastInferenceMs,
        inputs: m.name === PRICE_MODEL ? [fresh(gw.config.models.priceSeries)] : [fresh(gw.config.models.priceSeries), fresh('obs.combined.temp')],
      })),
      problems: p.registry.problemList(),
      accuracy: { series: gw.config.models.priceSeries, unit: 'EUR/MWh', bands: await p.accuracy(now) },
      last_run: { ...p.lastRun(), at: p.lastRun().at === null ? null : new Date(p.lastRun().at!).toISOString() },
      recalibration: { ...p.recalibration(), at: p.recalibration().at === null ? null : new Date(p.recalibration().at!).toISOString() },
    };
  });

  app.post('/models/:name/rollback', { preHandler: guard, schema: { summary: 'Make the previous version active (bearer token)', tags: ['models'], params: Type.Object({ name: Type.String() }), security: [{ bearer: [] }] } }, async (req) => {
    const { name } = req.params as { name: string };
    try {
      const m = await plugin().registry.rollback(name);
      return { name: m.name, version: m.version };
    } catch (error) {
      throw Object.assign(error as Error, { statusCode: 409 });
    }
  });

  app.post('/models/reload', { preHandler: guard, schema: { summary: 'Pick up new model versions without a restart, clearing any rollback pin (bearer token)', tags: ['models'], security: [{ bearer: [] }] } }, async () => {
    const p = plugin();
    for (const name of p.registry.names()) await p.registry.unpin(name);
    return p.registry.loaded().map((m) => ({ name: m.name, version: m.version }));
  });

  const recommendationRoute = (path: string, legacyPick: (s: ReturnType<typeof legacyScores>) => Record<string, unknown>) =>
    app.post(
      path,
      {
        schema: {
          summary: 'With the prototype body {price_eur_kwh, temperature, humidity}: the legacy formula (method legacy-formula). With ?horizon= or no body: the model for the upcoming hours (method model).',
          tags: ['models'],
          body: Type.Union([LegacyBody, Type.Null()]),
          querystring: Horizon,
        },
      },
      async (req, reply) => {
        const body = req.body as { price_eur_kwh: number; temperature: number; humidity: number } | null | undefined;
        const { horizon } = req.query as { horizon?: number };
        if (body && horizon === undefined) {
          const s = legacyScores(body.price_eur_kwh, body.temperature, body.humidity);
          return { method: 'legacy-formula', ...legacyPick(s), recommendation: s.recommendation, urgency: s.urgency };
        }
        try {
          const r = await plugin().service.recommendations(gw.clock.now(), horizon ?? 24);
          return {
            method: 'model',
            model: RECOMMENDER_MODEL,
            version: r.version,
            hours: r.hours.map((h) => ({
              start: formatUtcIso(h.start),
              start_local: formatLocalIso(h.start, tz),
              recommendation: h.recommendation,
              urgency: h.urgency,
              probabilities: h.probabilities,
              price_eur_mwh: h.priceEurMwh,
              price_source: h.priceSource,
              temperature_c: h.temperatureC,
              temperature_source: h.temperatureSource,
            })),
          };
        } catch (error) {
          return refused(reply, error);
        }
      },
    );
  recommendationRoute('/predict/energy-optimization', (s) => ({ energy_optimization_score: s.energy_optimization_score, energy_cost_index: s.energy_cost_index, temperature_comfort_index: s.temperature_comfort_index }));
  recommendationRoute('/predict/production-recommendation', (s) => ({ chocolate_production_index: s.chocolate_production_index, energy_cost_index: s.energy_cost_index, temperature_comfort_index: s.temperature_comfort_index, humidity_stress_factor: s.humidity_stress_factor }));

  app.get(
    '/api/forecast/prices',
    {
      schema: {
        summary: 'Price forecast with its 10-90 % band for the hours after the last published price',
        tags: ['models'],
        querystring: Type.Object({ hours: Type.Integer({ minimum: 1, maximum: 48, default: 48 }), resolution: Type.Union([Type.Literal('hourly'), Type.Literal('15m')], { default: 'hourly' }) }),
      },
    },
    async (req, reply) => {
      const { hours, resolution } = req.query as { hours: number; resolution: 'hourly' | '15m' };
      try {
        const f = await plugin().service.priceForecast(gw.clock.now());
        const slots = f.slots.slice(0, hours).flatMap((s) =>
          resolution === 'hourly' ? [s] : [0, 1, 2, 3].map((q) => ({ ...s, start: s.start + q * QUARTER_HOUR_MS, end: s.start + (q + 1) * QUARTER_HOUR_MS })),
        );
        return {
          series: f.series,
          model: PRICE_MODEL,
          version: f.version,
          unit: 'EUR/MWh',
          resolution,
          interpolation: resolution === '15m' ? 'each hour’s forecast held over its four quarter-hours' : null,
          issued_at: formatUtcIso(f.issuedAt),
          last_known_end: formatUtcIso(f.lastKnownEnd),
          drivers_used: f.driversUsed,
          slots: slots.map((s) => ({ start: formatUtcIso(s.start), end: formatUtcIso(s.end), start_local: formatLocalIso(s.start, tz), value: s.value, low: s.low, high: s.high, horizon_h: s.horizon })),
        };
      } catch (error) {
        return refused(reply, error);
      }
    },
  );
}
