/**
 * Reads MQTT's fixed headers (packet type, remaining length as a 1-4 byte varint, MQTT 3.1.1 §2.2 / 5.0 §2.1)
 * from the bytes a client sends, before the packet parser buffers them, and says when a packet claims more bytes
 * than the client may send: a 50 MB CONNECT is refused after its first 5 bytes, not after 50 MB sit in memory.
 * It only skips over bodies; the broker's own parser still parses everything.
 */
export class MqttFrameGuard {
  private inLength = false;
  private type = 0;
  private length = 0;
  private shift = 0;
  private skip = 0;

  /**
   * @param limit the largest remaining length (bytes) allowed now for a packet of this type (1 = CONNECT … 15)
   * @param over called once with the packet's type, claimed length and the limit when a packet is over it
   */
  constructor(
    private readonly limit: (type: number) => number,
    private readonly over: (type: number, bytes: number, limit: number) => void,
  ) {}

  private stopped = false;

  /** Feeds the next bytes; false (and `over` called) once a packet is over its limit or the length is malformed. */
  feed(chunk: Buffer): boolean {
    if (this.stopped) return false;
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++]!;
      if (!this.inLength) {
        this.type = byte >> 4;
        this.inLength = true;
        this.length = 0;
        this.shift = 0;
        continue;
      }
      this.length += (byte & 0x7f) * 2 ** this.shift;
      this.shift += 7;
      if (byte & 0x80) {
        if (this.shift >= 28) return this.stop(Infinity); // a fifth length byte: malformed
        continue;
      }
      this.inLength = false;
      if (this.length > this.limit(this.type)) return this.stop(this.length);
      this.skip = this.length;
    }
    return true;
  }

  private stop(bytes: number): false {
    this.stopped = true;
    this.over(this.type, bytes, this.limit(this.type));
    return false;
  }
}
