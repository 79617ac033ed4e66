import type { Config } from './schema.js';

/**
 * Every configured name that becomes part of an MQTT topic (base, site, line, device, point, Sparkplug group and
 * node, uplink prefix and topics, Home Assistant prefix), checked with the same rules as the topics built at run
 * time: `<path>: <why>` for each that breaks them, so a bad name is refused at start-up instead of at publish.
 */
export function topicNameProblems(config: Config): string[] {
  const problems: string[] = [];
  const level = (path: string, value: string | undefined): void => {
    const problem = value === undefined ? null : topicLevelProblem(value);
    if (problem) problems.push(`${path}: ${JSON.stringify(value)} cannot be an MQTT topic level: ${problem}`);
  };
  const levels = (path: string, value: string | undefined): void => {
    for (const part of value?.split('/') ?? []) {
      const problem = topicLevelProblem(part);
      if (problem) return void problems.push(`${path}: ${JSON.stringify(value)} cannot be used in an MQTT topic: ${problem}`);
    }
  };
  levels('/mqtt/base', config.mqtt.base);
  level('/site/id', config.site.id);
  levels('/uplink/prefix', config.uplink.prefix);
  for (const [i, filter] of config.uplink.topics.entries()) {
    const problem = topicFilterProblem(`${config.mqtt.base}/${filter}`);
    if (problem) problems.push(`/uplink/topics/${i}: ${JSON.stringify(filter)} is not a valid MQTT topic filter: ${problem}`);
  }
  level('/sparkplug/groupId', config.sparkplug.groupId);
  level('/sparkplug/edgeNodeId', config.sparkplug.edgeNodeId);
  levels('/homeAssistant/discoveryPrefix', config.homeAssistant.discoveryPrefix);
  for (const [i, p] of config.planner.processes.entries()) level(`/planner/processes/${i}/line`, p.line);
  for (const [i, l] of config.lines.entries()) level(`/lines/${i}/line`, l.line);
  for (const [i, d] of config.modbus.devices.entries()) {
    level(`/modbus/devices/${i}/name`, d.name);
    for (const [j, p] of d.points.entries()) level(`/modbus/devices/${i}/points/${j}/name`, p.name);
  }
  for (const [i, u] of config.mqtt.embedded.users.entries()) {
    for (const [j, l] of (u.lines ?? []).entries()) level(`/mqtt/embedded/users/${i}/lines/${j}`, l);
    if (u.clientIdPattern) {
      try {
        new RegExp(u.clientIdPattern, 'u');
      } catch (error) {
        problems.push(`/mqtt/embedded/users/${i}/clientIdPattern: not a regular expression: ${(error as Error).message}`);
      }
    }
  }
  return problems;
}

/** MQTT's bound on a topic (name or filter): 65 535 bytes of UTF-8. */
export const MAX_TOPIC_BYTES = 65_535;

/**
 * Why `level` cannot be one level of a topic built from input (a line, point, series, device, site, group or
 * transaction id), or null: it must be non-empty, well-formed UTF-8 (no lone surrogates), without `/`, `+`, `#`,
 * NUL or other control characters, and at most 65 535 bytes.
 */
export function topicLevelProblem(level: string): string | null {
  if (level === '') return 'empty level';
  if (level.includes('/')) return 'contains "/" (one level expected)';
  if (level.includes('+') || level.includes('#')) return 'contains a wildcard (+ or #)';
  return textProblem(level);
}

/** Why `topic` cannot be published to, or null: levels may be empty (MQTT allows it) but carry no wildcard. */
export function topicNameProblem(topic: string): string | null {
  if (topic === '') return 'empty topic';
  if (topic.includes('+') || topic.includes('#')) return 'a topic name cannot contain a wildcard (+ or #)';
  return textProblem(topic);
}

/** Why `filter` cannot be subscribed to, or null: `+` alone in a level, `#` alone and last. */
export function topicFilterProblem(filter: string): string | null {
  if (filter === '') return 'empty filter';
  const levels = filter.split('/');
  for (const [i, l] of levels.entries()) {
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return '"#" must be a whole level and the last one';
    if (l.includes('+') && l !== '+') return '"+" must be a whole level';
  }
  return textProblem(filter);
}

function textProblem(text: string): string | null {
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) return 'not valid UTF-8 (lone surrogate)';
  if (/\u0000/.test(text)) return 'contains NUL';
  if (/[\u0001-\u001f\u007f-\u009f]/.test(text)) return 'contains a control character';
  if (Buffer.byteLength(text, 'utf8') > MAX_TOPIC_BYTES) return `longer than ${MAX_TOPIC_BYTES} bytes`;
  return null;
}
