import { DAY_MS } from '../../gateway/time/tz.js';

/**
 * Bounds of an operator's line override (`lines/<line>/set` stop or resume, tester5 fault 9). A stop is a shift
 * decision, not a decommissioning: an `until` more than MAX_OVERRIDE_DAYS ahead (a typo'd year such as 2099) is
 * refused with one sentence instead of stopping the line for decades; a longer stop is sent again before it ends.
 */
export const MAX_OVERRIDE_DAYS = 7;

/** Why `until` (UTC ms) is refused at `now`, one sentence, or null when it is within MAX_OVERRIDE_DAYS. */
export function overrideTooFar(command: string, until: number, now: number, raw: unknown): string | null {
  if (until <= now + MAX_OVERRIDE_DAYS * DAY_MS) return null;
  return `"until" ${JSON.stringify(raw)} is more than ${MAX_OVERRIDE_DAYS} days ahead: a ${command} ends at most ${MAX_OVERRIDE_DAYS} days from now (send it again to extend it)`;
}

/** The override as in force at `now`: null once its `until` has passed (an ended stop is not shown as in force). */
export function inForce<O extends { at: number; until: number }>(override: O | undefined, now: number): O | null {
  return override && override.until > now ? override : null;
}
