import { describe, expect, it } from 'vitest';
import { MAX_REGISTERS_PER_READ, planBlocks } from '../../plugins/modbus-sensors/blocks.js';
import { isDue } from '../../plugins/modbus-sensors/exception.js';

const holding = (address: number, type: 'int16' | 'float32' = 'int16') => ({ register: 'holding' as const, address, type });

describe('read blocks', () => {
  it('reads contiguous registers in one request, bridges small gaps, splits at large ones and by register kind', () => {
    expect(planBlocks([holding(0), holding(1), holding(2, 'float32'), holding(4)], 0)).toEqual([
      { register: 'holding', address: 0, count: 5, points: [{ index: 0, offset: 0, count: 1 }, { index: 1, offset: 1, count: 1 }, { index: 2, offset: 2, count: 2 }, { index: 3, offset: 4, count: 1 }] },
    ]);
    // Listed out of order: sorted by address, each point keeps its index.
    expect(planBlocks([holding(10), holding(0)], 9).map((b) => [b.address, b.count, b.points.map((p) => p.index)])).toEqual([[0, 11, [1, 0]]]);
    expect(planBlocks([holding(0), holding(10)], 8).map((b) => [b.address, b.count])).toEqual([[0, 1], [10, 1]]);
    expect(planBlocks([holding(0), { register: 'input', address: 1, type: 'int16' }], 16).map((b) => [b.register, b.address])).toEqual([['holding', 0], ['input', 1]]);
  });

  it('never asks for more than 125 registers in one request', () => {
    const points = Array.from({ length: 300 }, (_, i) => holding(i));
    const blocks = planBlocks(points, 16);
    expect(blocks.map((b) => b.count)).toEqual([125, 125, 50]);
    expect(blocks.every((b) => b.count <= MAX_REGISTERS_PER_READ)).toBe(true);
    expect(blocks.flatMap((b) => b.points.map((p) => p.index)).sort((a, b) => a - b)).toEqual(points.map((_, i) => i));
    // A 32-bit point that would straddle the limit starts the next block.
    expect(planBlocks([holding(0), holding(124, 'float32')], 200).map((b) => [b.address, b.count])).toEqual([[0, 1], [124, 2]]);
  });
});

describe('report by exception', () => {
  const band = { deadband: 0, deadbandPercent: 0, maxSilenceMs: 60_000 };
  it('reports the first value, any change without a band, and after the maximum silence', () => {
    expect(isDue(band, undefined, 20, 0)).toBe(true);
    expect(isDue(band, { value: 20, at: 0 }, 20, 59_999)).toBe(false);
    expect(isDue(band, { value: 20, at: 0 }, 20.1, 1000)).toBe(true);
    expect(isDue(band, { value: 20, at: 0 }, 20, 60_000)).toBe(true);
    expect(isDue({ ...band, maxSilenceMs: 0 }, { value: 20, at: 0 }, 20, 10 ** 9)).toBe(false);
  });

  it('holds back moves inside an absolute or percent deadband, reports beyond either, and reports state changes', () => {
    const abs = { ...band, deadband: 0.5 };
    expect(isDue(abs, { value: 20, at: 0 }, 20.5, 1000)).toBe(false);
    expect(isDue(abs, { value: 20, at: 0 }, 19.4, 1000)).toBe(true);
    const pct = { ...band, deadbandPercent: 10 };
    expect(isDue(pct, { value: 200, at: 0 }, 219, 1000)).toBe(false);
    expect(isDue(pct, { value: 200, at: 0 }, 221, 1000)).toBe(true);
    const both = { ...band, deadband: 5, deadbandPercent: 1 };
    expect(isDue(both, { value: 200, at: 0 }, 202.5, 1000)).toBe(true); // beyond 1 % (2), inside 5
    expect(isDue(both, { value: 200, at: 0 }, 201, 1000)).toBe(false);
    expect(isDue(abs, { value: 20, at: 0 }, null, 1000)).toBe(true);
    expect(isDue(abs, { value: null, at: 0 }, 20, 1000)).toBe(true);
    expect(isDue(abs, { value: null, at: 0 }, null, 1000)).toBe(false);
  });
});
