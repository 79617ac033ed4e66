import { alertSubject } from '../core/alerts.js';
import type { Alert } from '../core/event-bus.js';
import { formatUtcIso } from '../time/tz.js';

export interface StoredAlert extends Alert {
  id: number;
  ackedAt: number | null;
  resolvedAt?: number | null;
}

/** Repeated alerts of one kind about one subject, newest first: `{code, subject, level, count, first, last, message, latest_id, acked}`. */
export interface AlertGroup {
  code: string;
  /** What the alert is about: the message's leading "<subject>:" or, without one, the message with its numbers blanked. */
  subject: string;
  level: Alert['level'];
  count: number;
  first: string;
  last: string;
  /** The newest message of the group, unchanged. */
  message: string;
  latest_id: number;
  acked: boolean;
  /** When the newest alert's condition was found gone (UTC ISO); null while it still holds. */
  resolved_at: string | null;
}

/** "line tempering: write failed (…)" → "line tempering"; "plan uses forecast prices after 2018-01-10T00:00:00+01:00" → "plan uses forecast prices after #". */
export { alertSubject };

/** Groups alerts (newest first, as the gateway keeps them) by code and subject; groups ordered by their newest alert. */
export function groupAlerts(alerts: readonly StoredAlert[]): AlertGroup[] {
  const groups = new Map<string, AlertGroup & { firstAt: number; lastAt: number }>();
  for (const a of alerts) {
    const subject = alertSubject(a.message);
    const key = `${a.code}\u0000${subject}`;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { code: a.code, subject, level: a.level, count: 1, first: formatUtcIso(a.at), last: formatUtcIso(a.at), message: a.message, latest_id: a.id, acked: a.ackedAt !== null, resolved_at: resolvedIso(a), firstAt: a.at, lastAt: a.at });
      continue;
    }
    g.count++;
    if (a.at < g.firstAt) (g.firstAt = a.at), (g.first = formatUtcIso(a.at));
    if (a.at > g.lastAt) Object.assign(g, { lastAt: a.at, last: formatUtcIso(a.at), message: a.message, latest_id: a.id, acked: a.ackedAt !== null, resolved_at: resolvedIso(a), level: a.level });
  }
  return [...groups.values()].sort((x, y) => y.lastAt - x.lastAt).map(({ firstAt: _f, lastAt: _l, ...g }) => g);
}

function resolvedIso(a: StoredAlert): string | null {
  return a.resolvedAt === undefined || a.resolvedAt === null ? null : formatUtcIso(a.resolvedAt);
}

/**
 * An alert as the HTTP API answers it: every time an ISO 8601 UTC string (`at`, `ackedAt`, `resolvedAt`; null when
 * not yet), never epoch milliseconds beside ISO ones.
 */
export function alertJson<A extends StoredAlert>(a: A): Omit<A, 'at' | 'ackedAt' | 'resolvedAt'> & { at: string; ackedAt: string | null; resolvedAt: string | null } {
  return { ...a, at: formatUtcIso(a.at), ackedAt: a.ackedAt === null ? null : formatUtcIso(a.ackedAt), resolvedAt: resolvedIso(a) };
}
