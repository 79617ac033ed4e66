import type { Config } from './schema.js';

/**
 * The embedded broker's users, checked as a whole: a username given twice (the broker would let the first one in
 * and silently ignore the other's password and role), and a `line` user without a line or with a line no part of
 * the gateway commands (`planner.processes[].line`, `lines[].line`, `opcua.lines[].line`): its ACL would grant it
 * nothing, and a typo (`conchin`) would only show as a PLC that never gets its commands.
 * Returns `<path>: <why>` for each, in one sentence naming the first use or the known lines.
 */
export function mqttUserProblems(config: Config): string[] {
  const problems: string[] = [];
  const known = [...new Set([...config.planner.processes.map((p) => p.line), ...config.lines.map((l) => l.line), ...config.opcua.lines.map((l) => l.line)].filter((l): l is string => typeof l === 'string' && l !== ''))];
  const knownText = known.length ? `known lines: ${known.join(', ')}` : 'no line is configured (planner.processes[].line, lines[].line)';
  const first = new Map<string, number>();
  for (const [i, u] of config.mqtt.embedded.users.entries()) {
    const at = `/mqtt/embedded/users/${i}`;
    const earlier = first.get(u.username);
    if (earlier !== undefined) problems.push(`${at}/username: ${JSON.stringify(u.username)} is already used at /mqtt/embedded/users/${earlier}; each MQTT user needs its own username`);
    else first.set(u.username, i);
    if (u.role !== 'line') continue;
    if (!u.lines?.length) problems.push(`${at}/lines: a line user needs at least one line (${knownText})`);
    for (const [j, l] of (u.lines ?? []).entries()) {
      if (!known.includes(l)) problems.push(`${at}/lines/${j}: ${JSON.stringify(l)} is not a line the gateway commands (${knownText})`);
    }
  }
  return problems;
}
