/** The runs as they ran (gateway/bill/ran-runs.ts): what one line's verified writes make of a run, and the grid it is credited on. */
import { describe, expect, it } from 'vitest';
import { creditable, onWritten, type LineWritten, type OpenRun, type RanRun } from '../../gateway/bill/ran-runs.js';

const MIN = 60_000;
const T = Date.parse('2026-01-07T22:00:00Z');
const processOf = () => 'conching';
const w = (at: number, command: LineWritten['command'], batch: number | null, validUntil: number): LineWritten => ({ line: 'conching', command, batch, powerKw: command === 'run' ? 48 : 0, validUntil, at });

describe('onWritten: one line, one run at a time', () => {
  it('opens at the first verified run, keeps it on repeats, ends it at the stop', () => {
    let open: OpenRun | undefined;
    const closed: RanRun[] = [];
    for (const e of [w(T + 40_000, 'run', 8, T + 300 * MIN), w(T + 10 * MIN, 'run', 8, T + 300 * MIN), w(T + 33 * MIN, 'idle', null, T + 273 * MIN)]) {
      const r = onWritten(open, e, processOf);
      if (r.closed) closed.push(r.closed);
      open = r.open;
    }
    expect(open).toBeUndefined();
    expect(closed).toEqual([{ process: 'conching', line: 'conching', batch: 8, start: T + 40_000, end: T + 33 * MIN, kw: 48, source: 'plc (verified writes)' }]);
  });

  it('a write after the valid-until passed ends the run at its valid-until; another batch is another run', () => {
    const open: OpenRun = { process: 'conching', line: 'conching', batch: 8, start: T, until: T + 60 * MIN, kw: 48 };
    const late = onWritten(open, w(T + 70 * MIN, 'run', 8, T + 120 * MIN), processOf);
    expect(late.closed!.end).toBe(T + 60 * MIN);
    expect(late.open).toMatchObject({ batch: 8, start: T + 70 * MIN });
    const other = onWritten(open, w(T + 30 * MIN, 'run', 9, T + 90 * MIN), processOf);
    expect(other.closed!.end).toBe(T + 30 * MIN);
    expect(other.open).toMatchObject({ batch: 9, start: T + 30 * MIN });
  });
});

describe('creditable: the quarter-hour grid, no overlap on a line', () => {
  const run = (start: number, end: number, line = 'conching'): RanRun => ({ process: line, line, batch: 1, start, end, kw: 48, source: 'plc (verified writes)' });
  it('rounds to the nearest quarter-hour, leaves out a run under half a quarter-hour and cuts an overlap', () => {
    const { runs, leftOut } = creditable([run(T + 40_000, T + 33 * MIN), run(T + 60 * MIN, T + 65 * MIN), run(T + 20 * MIN, T + 120 * MIN), run(T, T + 60 * MIN, 'tempering')]);
    expect(runs.map((r) => [r.line, (r.start - T) / MIN, (r.end - T) / MIN])).toEqual([
      ['tempering', 0, 60],
      ['conching', 0, 30],
      ['conching', 30, 120],
    ]);
    expect(leftOut.map((r) => r.reason)).toEqual(['ran 5 min, less than half a quarter-hour: below the metering resolution']);
  });
});
