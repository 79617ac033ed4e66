import { describe, expect, it } from 'vitest';
import { budgetNote } from '../../plugins/planner/index.js';

// The demo's plan said "… but 0 of the day's 2 moves are made (planner.maxMovesPerDay): the solver moved the best 2",
// which reads as a contradiction (breaker3). The note says how many moves the day has left, and then what was moved.
describe('the move-limit note of a plan (fallback_reason)', () => {
  it('names the moves left today, not the moves made, before what the solver moved', () => {
    expect(budgetNote(7.14, 3, 0, 2, 2)).toBe('a free re-plan would save 7.14 € by moving 3 batch(es), but the day has 2 of its 2 move(s) left (planner.maxMovesPerDay, 0 made): the solver moved the best 2');
    expect(budgetNote(3.5, 4, 2, 3, 1)).toBe('a free re-plan would save 3.50 € by moving 4 batch(es), but the day has 1 of its 3 move(s) left (planner.maxMovesPerDay, 2 made): the solver moved the best 1');
  });
  it('never says a negative number of moves is left (forced moves can take a day past the limit)', () => {
    expect(budgetNote(1, 2, 5, 3, 0)).toContain('the day has 0 of its 3 move(s) left (planner.maxMovesPerDay, 5 made)');
  });
});
