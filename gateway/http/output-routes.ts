import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from './context.js';
import { formatUtcIso } from '../time/tz.js';
import type { AuthGuard } from './auth.js';
import type { DryRunSwitch } from '../core/output-mode.js';

const SwitchBody = Type.Object(
  {
    dry_run: Type.Boolean({ description: 'true: write nothing to the PLCs (commissioning); false: write the plan' }),
    reason: Type.String({ minLength: 3, maxLength: 200, description: 'why, for the audit trail (e.g. "PLC L1 fallback tested, going live")' }),
    line: Type.Optional(Type.String({ pattern: '^[a-z0-9_-]+$', description: 'only this line (commissioning one line while the others run); without it, every line' })),
  },
  { additionalProperties: false, examples: [{ dry_run: false, reason: 'conche-1 commissioned: fallback on heartbeat loss tested' }] },
);

const switchOut = (s: DryRunSwitch) => ({ dry_run: s.dryRun, at: formatUtcIso(s.at), by: s.by, reason: s.reason, ...(s.line ? { line: s.line } : {}) });

/** The write-nothing mode (outputs.dryRun): what the gateway would write, and the authenticated switch. */
export function registerOutputRoutes(app: FastifyInstance, gw: HttpContext, guard: AuthGuard): void {
  const status = () => ({
    // The same names as the retained MQTT payload outputs/dry-run.
    dry_run: gw.outputs.state().dryRun,
    since: formatUtcIso(gw.outputs.state().at),
    by: gw.outputs.state().by,
    reason: gw.outputs.state().reason,
    /** Lines in the mode on their own (lines[].dryRun or switched one by one), whatever `dry_run` says. */
    lines: gw.outputs.lineStates().map(switchOut),
    /** Newest first: per output and target, what would have been written and how many times it was held back. */
    would_write: gw.outputs.wouldWrites().map((w) => ({ via: w.via, target: w.target, what: w.what, values: w.values, first_at: formatUtcIso(w.firstAt), last_at: formatUtcIso(w.lastAt), times: w.times })),
    /** The audit trail, newest last (kept in the store across restarts). */
    switches: gw.outputs.switches().map(switchOut),
  });
  app.get('/api/outputs', { schema: { summary: 'The write-nothing mode: on or off, since when and by whom, and every line command and setpoint it held back', tags: ['plan'] } }, async () => status());
  app.post(
    '/api/outputs/dry-run',
    {
      preHandler: guard,
      schema: {
        summary: 'Switch the write-nothing mode on or off at run time (bearer token; logged, alerted and kept in the audit trail; a restart goes back to outputs.dryRun)',
        tags: ['plan'],
        body: SwitchBody,
        security: [{ bearer: [] }],
      },
    },
    async (req) => {
      const body = req.body as { dry_run: boolean; reason: string; line?: string };
      const known = [...new Set([...gw.config.lines.map((l) => l.line), ...gw.config.opcua.lines.map((l) => l.line), ...gw.config.planner.processes.map((p) => p.line)])];
      if (body.line !== undefined && !known.includes(body.line)) throw Object.assign(new Error(`unknown line ${JSON.stringify(body.line)}; lines: ${known.join(', ')}`), { statusCode: 400 });
      // The global mode holds every line: a line switched live under it would still write nothing, so say so, do nothing.
      if (body.line !== undefined && !body.dry_run && gw.outputs.dryRun) {
        throw Object.assign(new Error(`the whole gateway is in dry run (outputs.dryRun): switch the global mode off first (POST without "line"), then put the lines still being commissioned back one by one; ${body.line} stays in dry run`), { statusCode: 409 });
      }
      const changed = await gw.outputs.set(body.dry_run, `http ${req.ip}`, body.reason.trim(), body.line);
      return { changed, ...status() };
    },
  );
}
