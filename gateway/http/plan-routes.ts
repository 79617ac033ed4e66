import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { PlannerPlugin } from '../../plugins/planner/index.js';
import type { HttpContext } from './context.js';
import { formatUtcIso } from '../time/tz.js';
import type { AuthGuard } from './auth.js';
import { alertJson } from './alert-groups.js';

const Changes = Type.Object(
  {
    quota: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z0-9_-]+$' }), Type.Integer({ minimum: 0, maximum: 24 }), { description: 'batches per day by process' })),
    contractedKw: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100_000 })),
  },
  { additionalProperties: false, examples: [{ quota: { conching: 3 } }] },
);

export function registerPlanRoutes(app: FastifyInstance, gw: HttpContext, guard: AuthGuard): void {
  const planner = (): PlannerPlugin => {
    const p = gw.planner();
    if (!p) throw Object.assign(new Error('the planner is disabled (planner.enabled) or failed to start'), { statusCode: 503 });
    return p;
  };
  app.get('/api/plan', { schema: { summary: 'The current production plan: runs, hourly power, cost, recommendation, totals against the fixed shift', tags: ['plan'] } }, async (_req, reply) => {
    const doc = planner().current();
    if (!doc) return reply.code(404).send({ error: 'not found', message: 'no plan yet: the planning job has not run or had no prices' });
    return doc;
  });
  app.post('/api/plan/preview', { schema: { summary: 'The plan with a changed quota or contracted power, not applied', tags: ['plan'], body: Changes } }, async (req) => planner().preview(req.body as never));
  app.post('/api/plan/apply', { preHandler: guard, schema: { summary: 'Apply a changed quota or contracted power and re-plan (bearer token)', tags: ['plan'], body: Changes, security: [{ bearer: [] }] } }, async (req) => planner().apply(req.body as never));
  app.get('/api/alerts', { schema: { summary: 'Recent alerts, newest first, with level and stable code', tags: ['plan'] } }, async () => gw.alerts.recent().map(alertJson));
  app.get('/api/lines', { schema: { summary: 'Each line: its process, planned run, last acknowledgement and override', tags: ['plan'] } }, async () =>
    planner().lines().map((l) => ({ ...l, override: l.override ? { ...l.override, until: formatUtcIso(l.override.until), at: formatUtcIso(l.override.at) } : null })),
  );
}
