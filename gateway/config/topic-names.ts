import { topicFilterProblem, topicLevelProblem } from '../mqtt/topics.js';
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
