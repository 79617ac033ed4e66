import { createRequire } from 'node:module';

/**
 * mqtt-packet (the MQTT codec under both aedes and mqtt.js) builds, on the first packet it writes, a cache of
 * 65,536 two-byte Buffers (one per packet id / 16-bit length): about 6 MB of V8 heap for the process's lifetime,
 * to save one 2-byte allocation per number written. The gateway turns it off for every copy it loads (aedes's and
 * mqtt.js's; npm normally hoists them to one). Idempotent; a copy that cannot be found is skipped.
 */
export function disableMqttPacketNumberCache(): void {
  const require = createRequire(import.meta.url);
  for (const owner of ['aedes', 'mqtt']) {
    try {
      const packet = createRequire(require.resolve(owner))('mqtt-packet') as { writeToStream: { cacheNumbers: boolean } };
      packet.writeToStream.cacheNumbers = false;
    } catch {
      // not installed beside that owner: nothing to turn off
    }
  }
}

disableMqttPacketNumberCache();
