/**
 * A holding limit that is not a whole number of the plan's slots (maxWaitMinutes 20 on hourly slots): the plan keeps
 * the longest whole-slot wait within it (20 min on hourly slots: no wait at all, never rounded up to a longer hold),
 * and reports the limit as given. On main the plan document said `max_wait_min: 0` and "limit 0 h" for a 20-min
 * limit (the whole slots it keeps), and check-config said nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/config/load.js';
import { planDocument } from '../../gateway/planner/document.js';
import { breachAlert, describeBreach, heldIntervals, holdingBreaches, holdLimitSlots, holdLimitWarnings } from '../../gateway/planner/holding.js';
import { planSchedule } from '../../gateway/planner/plan.js';
import type { PlannedRun, PlannerInput } from '../../gateway/planner/types.js';
import { testPlannerInput, testProcess } from '../helpers/planner-input.js';

const t0 = Date.parse('2025-06-02T00:00:00Z');
// Cheap at 00:00 and 10:00: without a limit, b would wait 9 h for the cheap hour.
const PRICES = [10, 200, 200, 200, 200, 200, 200, 200, 200, 150, 10, 200];
const meta = { planId: 'p', version: 1, createdAt: t0, baselineEur: null, keptPrevious: false, timezone: 'Europe/Madrid', lineOf: (p: string) => p };
const input = (maxWaitMinutes: number, over: Partial<PlannerInput> = {}) =>
  testPlannerInput(t0, PRICES, PRICES.map(() => null), [testProcess('a', 10, 60), testProcess('b', 10, 60, { maxWaitMinutes })], over);
const waitOf = (runs: readonly PlannedRun[]) => runs.find((r) => r.process === 'b')!.startSlot - (runs.find((r) => r.process === 'a')!.startSlot + 1);

describe('a holding limit shorter than a slot', () => {
  it('20 min on hourly slots: no wait at all in the MILP and the greedy planner, and the plan reports 20 min, not 0', async () => {
    const inp = input(20);
    expect(holdLimitSlots(inp, 'b')).toBe(0);
    // The MILP, and the greedy fallback (no time for the solver).
    const methods: string[] = [];
    for (const plan of [await planSchedule(inp), await planSchedule({ ...inp, timeLimitMs: 0 })]) {
      methods.push(plan.method);
      expect(waitOf(plan.runs)).toBe(0);
      const doc = planDocument(inp, plan, meta);
      const b = doc.runs.find((r) => r.process === 'b')!;
      expect(b.max_wait_min).toBe(20);
      expect(b.waited_min).toBe(0);
      expect(doc.holding_breaches).toEqual([]);
    }
    expect(methods).toContain('greedy');
    // 90 min on hourly slots allows one slot (60 min), never two (120 min > 90); reported as 90.
    const ninety = input(90);
    expect(holdLimitSlots(ninety, 'b')).toBe(1);
    const plan = await planSchedule(ninety);
    expect(waitOf(plan.runs)).toBeLessThanOrEqual(1);
    expect(planDocument(ninety, plan, meta).runs.find((r) => r.process === 'b')!.max_wait_min).toBe(90);
  });

  it('a wait it cannot avoid is a breach named with the limit as given: "limit 20 min", in the document, the alert and max_wait_min', async () => {
    const inp = input(20, { fixedRuns: [{ process: 'a', batch: 7, startSlot: 0, slots: 1 }], runsToPlace: { a: 0, b: 1 } });
    const blocked = { ...inp, processes: inp.processes.map((p) => (p.name === 'b' ? { ...p, blockedUntil: t0 + 3 * 3_600_000 } : p)) };
    const plan = await planSchedule(blocked);
    const runs = plan.runs.map((r) => ({ ...r, batch: 7 }));
    const breaches = holdingBreaches(heldIntervals(blocked, runs));
    expect(breaches.map((h) => describeBreach(blocked, h))).toEqual(['batch 7 waits 2 h for b (limit 20 min)']);
    expect(breachAlert(blocked, breaches[0]!).message).toBe('batch 7 before b: waits 2 h (limit 20 min)');
    const doc = planDocument(blocked, { ...plan, runs }, meta);
    const b = doc.runs.find((r) => r.process === 'b')!;
    // A breach exactly when waited_min > max_wait_min.
    expect([b.waited_min, b.max_wait_min]).toEqual([120, 20]);
    expect(doc.holding_breaches).toEqual(['batch 7 waits 2 h for b (limit 20 min)']);
    // The status page speaks it (its own dictionary file, run as the browser runs it), the minutes as minutes.
    const page = {} as { CHOCO_I18N?: { MESSAGES: Array<{ re: RegExp; es: (m: RegExpExecArray, f: unknown) => string }> } };
    new Function('window', readFileSync(new URL('../../gateway/http/status-page/i18n.js', import.meta.url), 'utf8'))(page);
    const f = { num: (x: string, d: number) => new Intl.NumberFormat('es-ES', { minimumFractionDigits: d, maximumFractionDigits: d }).format(Number(x)) };
    const spanish = (text: string) => { const m = page.CHOCO_I18N!.MESSAGES.find((x) => x.re.test(text)); return m?.es(m.re.exec(text)!, f); };
    expect(spanish(doc.holding_breaches[0]!)).toBe('el lote 7 espera 2,0 h antes de b (límite 20 min)');
    expect(spanish('batch 7 waits 7.5 h for tempering (limit 4 h)')).toBe('el lote 7 espera 7,5 h antes de tempering (límite 4,0 h)');
    // On quarter-hour slots 20 min allows one slot (15 min): the plan keeps 15 and says 20.
    expect(holdLimitSlots({ ...inp, resolutionMs: 900_000 }, 'b')).toBe(1);
  });
});

describe('check-config warns about a holding limit the plan keeps shorter than given', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hold-limit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const processes = (tempering: number) => [
    { name: 'mixing', kw: 30, minutes: 60, batchesPerDay: 2, line: 'mixing', maxWaitMinutes: 45 },
    { name: 'refining', kw: 42, minutes: 240, batchesPerDay: 2, line: 'refining', maxWaitMinutes: 90 },
    { name: 'conching', kw: 48, minutes: 300, batchesPerDay: 2, line: 'conching' },
    { name: 'tempering', kw: 36, minutes: 120, batchesPerDay: 2, line: 'tempering', maxWaitMinutes: tempering },
  ];

  it('names each limit that is not whole hours with what hourly and quarter-hour slots keep of it; none for the defaults, whole hours or 0, nor for the first step', () => {
    expect(holdLimitWarnings(loadConfig({ env: {} }).planner)).toEqual([]);
    expect(holdLimitWarnings(loadConfig({ env: {}, overrides: { planner: { processes: processes(0) } } }).planner)).toEqual([
      'refining: planner.processes[].maxWaitMinutes 90 is not a whole number of hours: on hourly prices the plan keeps it as 60 min; on quarter-hour prices 90 min. Waits are whole slots and a limit is never rounded up (README "Holding limits")',
    ]);
    expect(holdLimitWarnings(loadConfig({ env: {}, overrides: { planner: { processes: processes(10) } } }).planner)[1]).toBe(
      'tempering: planner.processes[].maxWaitMinutes 10 is below one slot of the plan on hourly prices (60 min): a batch may not wait for tempering at all there (0 min); on quarter-hour prices 0 min (no wait at all). Waits are whole slots and a limit is never rounded up (README "Holding limits")',
    );
  });

  it('through the CLI: exit 0 (the config is valid), the warning on stderr', () => {
    const file = join(dir, 'twenty.yaml');
    writeFileSync(file, `planner:\n  processes:\n${processes(20).map((p) => `    - ${JSON.stringify(p)}\n`).join('')}`);
    const repo = resolve(import.meta.dirname, '../..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'gateway/main.ts'), 'check-config', '--config', file], { cwd: repo, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: dir }, timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: tempering: planner.processes[].maxWaitMinutes 20 is below one slot of the plan on hourly prices (60 min): a batch may not wait for tempering at all there (0 min); on quarter-hour prices 15 min.');
    expect(r.stderr).toContain('warning: refining: planner.processes[].maxWaitMinutes 90 is not a whole number of hours');
  }, 120_000);
});
