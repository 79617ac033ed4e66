import { createTask } from 'node-cron';

const FIELDS5 = ['minute', 'hour', 'day of month', 'month', 'week day'] as const;
const RANGES: Record<string, [number, number]> = { second: [0, 59], minute: [0, 59], hour: [0, 23], 'day of month': [1, 31], month: [1, 12], 'week day': [0, 7] };

/**
 * One sentence on what is wrong with a job's cron expression, or undefined when the scheduler (node-cron, which
 * parses it the same way) accepts it and every step fits its field. `job` names the job (`planning`).
 * Examples: `job planning: the cron expression "*\/61 * * *" has 4 fields; it needs 5 (minute hour day-of-month
 * month week-day, e.g. "0 3 * * *") or 6 (a seconds field first)`; `…: 61 is not a valid minute (0-59)`.
 */
export function cronSentence(job: string, expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/).filter(Boolean);
  const head = `job ${job}: the cron expression ${JSON.stringify(expression)}`;
  if (fields.length !== 5 && fields.length !== 6) {
    return `${head} has ${fields.length} field${fields.length === 1 ? '' : 's'}; it needs 5 (minute hour day-of-month month week-day, e.g. "0 3 * * *" for 03:00 every day) or 6 (a seconds field first)`;
  }
  const names = fields.length === 6 ? ['second', ...FIELDS5] : [...FIELDS5];
  for (const [i, field] of fields.entries()) {
    const name = names[i]!;
    const [lo, hi] = RANGES[name]!;
    for (const part of field.split(',')) {
      const step = /\/(\d+)$/.exec(part);
      if (step && (Number(step[1]) === 0 || Number(step[1]) > hi - lo)) {
        return `${head} has the step /${step[1]} in its ${name} field, which only runs from ${lo} to ${hi}: use a step from 1 to ${hi - lo}`;
      }
    }
  }
  try {
    const task = createTask(expression, () => undefined, { name: 'check-config' });
    void task.destroy();
    return undefined;
  } catch (error) {
    // node-cron says "61 is a invalid expression for minute": name the field and its range instead.
    const m = /^(.+) is a invalid expression for (.+)$/.exec((error as Error).message);
    const range = m ? RANGES[m[2]!] : undefined;
    if (m && range) return `${head} is invalid: ${m[1]} is not a valid ${m[2]} (${range[0]}-${range[1]}; *, lists a,b, ranges a-b and steps */n are allowed)`;
    return `${head} is invalid: ${(error as Error).message}`;
  }
}
