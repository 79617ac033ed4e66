import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planKeepingDays } from '../../gateway/planner/day-quotas.js';
import { diagnose } from '../../gateway/planner/plan.js';
import type { PlannerInput, ProcessSpec } from '../../gateway/planner/types.js';

type Message = { re: RegExp; es: (m: RegExpExecArray) => string; en: (m: RegExpExecArray) => string };

// The page's own dictionary file, run as the browser runs it (it assigns window.CHOCO_I18N).
const source = readFileSync(new URL('../../gateway/http/status-page/i18n.js', import.meta.url), 'utf8');
const window = {} as { CHOCO_I18N?: { MESSAGES: Message[] } };
new Function('window', source)(window);

/** The Spanish text the page shows for a gateway message, or undefined when no pattern knows it. */
const spanish = (message: string): string | undefined => {
  const known = window.CHOCO_I18N!.MESSAGES.find((x) => x.re.test(message));
  return known?.es(known.re.exec(message)!);
};

const H = 3_600_000;
const proc = (name: string, minutes: number): ProcessSpec => ({ name, kw: 30, minutes, batchesPerDay: 2, uninterrupted: true, minGapMinutes: 0, line: name });

/** Two local days of 4 and 6 hourly slots, two runs of each process per day. */
function twoDays(over: Partial<PlannerInput>): PlannerInput {
  const processes = [proc('mixing', 60), proc('refining', 120)];
  return {
    starts: Array.from({ length: 10 }, (_, i) => Date.parse('2025-07-15T18:00:00Z') + i * H),
    resolutionMs: H,
    priceEurMwh: Array.from({ length: 10 }, (_, i) => 50 + i),
    priceSource: Array.from({ length: 10 }, () => 'published' as const),
    adderEurKwh: Array.from({ length: 10 }, () => 0),
    period: Array.from({ length: 10 }, () => 'P6'),
    outdoorC: Array.from({ length: 10 }, () => null),
    processes,
    order: ['mixing', 'refining'],
    contractedKw: 1000,
    coolingKwPerDegree: 0,
    coolingFromC: 24,
    plantTemp: { baseC: 21, factor: 0.25 },
    haltAtOutdoorC: 35,
    forbidden: Array.from({ length: 10 }, () => false),
    fixedRuns: [],
    runsToPlace: { mixing: 4, refining: 4 },
    dayQuotas: [
      { day: '2025-07-15', fromSlot: 0, toSlot: 4, runs: { mixing: 2, refining: 2 } },
      { day: '2025-07-16', fromSlot: 4, toSlot: 10, runs: { mixing: 2, refining: 2 } },
    ],
    orderCredit: {},
    timeLimitMs: 5000,
    ...over,
  };
}

describe('the status page speaks the planner’s day-quota messages, as the planner writes them', () => {
  it('translates a batch that cannot enter the line today', async () => {
    const { outcome } = await planKeepingDays(twoDays({ forbidden: [true, true, true, true, false, false, false, false, false, false] }));
    expect(outcome.infeasible).toHaveLength(1);
    expect(spanish(outcome.infeasible![0]!)).toBe('hoy (2025-07-15): tandas que no pueden empezar antes de medianoche: mixing 2 de 2; los días siguientes se planifican completos');
  });

  it('translates a day without an allowed start', () => {
    const problems = diagnose(twoDays({ forbidden: [false, false, false, false, true, true, true, true, true, true] }));
    const noStart = problems.find((p) => p.includes('no allowed start'));
    expect(noStart).toBe('mixing: no allowed start on 2025-07-16 for its 2 run(s) there');
    expect(spanish(noStart!)).toBe('mixing: ningún comienzo permitido el 2025-07-16 para sus 2 tandas de ese día');
  });
});
