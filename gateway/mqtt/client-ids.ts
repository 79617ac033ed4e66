import type { Config } from '../config/schema.js';

/** The Sparkplug edge node's own session: `<groupId>-<edgeNodeId>-sparkplug`. */
export function sparkplugClientId(config: Config): string {
  return `${config.sparkplug.groupId}-${config.sparkplug.edgeNodeId ?? config.site.id}-sparkplug`;
}

/** The fleet uplink's session on the central broker: `choco-edge-<site.id>-uplink`. */
export function uplinkClientId(config: Config): string {
  return `choco-edge-${config.site.id}-uplink`;
}

/**
 * Every client id the gateway's own clients use (its connection with the bridge, Sparkplug, uplink, and the
 * internal user's name): the embedded broker refuses them to anybody but the gateway, so nobody can take over
 * a session (MQTT gives a client id to the newest connection and drops the older one).
 */
export function gatewayClientIds(config: Config, internalUsername: string): string[] {
  return [...new Set([config.mqtt.clientId, sparkplugClientId(config), uplinkClientId(config), internalUsername])];
}
