import type { MqttClient } from 'mqtt';
import type { Logger } from '../util/log.js';

/** How many sessions in a row may end while the same QoS 1/2 publish is unacknowledged before it is dropped. */
export const REJECTED_PUBLISH_STRIKES = 3;

/**
 * Stops the loop "broker closes the connection on a publish it rejects → mqtt.js sends the same publish again on
 * every reconnect": a QoS 1/2 publish that was sent in `strikes` sessions in a row, each ended by the broker before
 * its acknowledgement, is removed from the client's outgoing store and logged. Its callback (and `publishAsync`)
 * then fails with mqtt.js' `Error('Message removed')`, see `isRemovedPublish`. Returns the count of dropped publishes.
 */
export function dropRejectedPublishes(client: MqttClient, log: Logger, strikes = REJECTED_PUBLISH_STRIKES): { dropped: number } {
  const stats = { dropped: 0 };
  const unacked = new Map<number, string>();
  const failures = new Map<number, number>();
  client.on('packetsend', (packet) => {
    if (packet.cmd === 'publish' && packet.qos > 0 && packet.messageId !== undefined) unacked.set(packet.messageId, packet.topic);
  });
  client.on('packetreceive', (packet) => {
    if ((packet.cmd === 'puback' || packet.cmd === 'pubrec') && packet.messageId !== undefined) {
      unacked.delete(packet.messageId);
      failures.delete(packet.messageId);
    }
  });
  client.on('close', () => {
    for (const messageId of failures.keys()) if (!unacked.has(messageId)) failures.delete(messageId);
    for (const [messageId, topic] of unacked) {
      const n = (failures.get(messageId) ?? 0) + 1;
      failures.set(messageId, n);
      if (n < strikes) continue;
      failures.delete(messageId);
      stats.dropped++;
      log.error({ topic, messageId, sessions: n }, 'the broker closed the connection each time this publish was sent: dropped, not sent again');
      client.removeOutgoingMessage(messageId);
    }
    unacked.clear();
  });
  return stats;
}

/** Whether a publish failed because `dropRejectedPublishes` removed it. */
export function isRemovedPublish(error: unknown): boolean {
  return error instanceof Error && error.message === 'Message removed';
}
