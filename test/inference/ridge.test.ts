import { describe, expect, it } from 'vitest';
import { RidgeAccumulator, fitRidge, predictRidge } from '../../gateway/inference/ridge.js';

describe('ridge regression', () => {
  it('recovers a linear law with a tiny penalty, shrinks towards the mean with a big one, and accumulates row by row', () => {
    let seed = 7;
    const r = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const xs = Array.from({ length: 400 }, () => [r() * 4 - 2, 30 + r() * 5, r() < 0.15 ? 1 : 0]);
    const ys = xs.map((x) => 3 + 0.5 * x[0]! - 0.2 * x[1]! + 2 * x[2]!);
    const exact = fitRidge(xs, ys, 1e-9);
    expect(exact.weights[0]).toBeCloseTo(0.5, 6);
    expect(exact.weights[1]).toBeCloseTo(-0.2, 6);
    expect(exact.weights[2]).toBeCloseTo(2, 6);
    expect(exact.intercept).toBeCloseTo(3, 5);
    const shrunk = fitRidge(xs, ys, 100);
    const yMean = ys.reduce((s, y) => s + y, 0) / ys.length;
    expect(Math.abs(predictRidge(shrunk, xs[0]!) - yMean)).toBeLessThan(Math.abs(ys[0]! - yMean));
    const acc = new RidgeAccumulator(3);
    xs.forEach((x, i) => acc.add(x, ys[i]!));
    expect(acc.rows).toBe(400);
    expect(acc.solve(1e-9).weights[2]).toBeCloseTo(2, 6);
    expect(() => new RidgeAccumulator(2).solve(1)).toThrow(/no rows/);
  });
});
