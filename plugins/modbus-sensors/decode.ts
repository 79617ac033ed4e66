export type RegisterType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';
export type Order = 'big' | 'little';

export const registerCount = (type: RegisterType): number => (type === 'int16' || type === 'uint16' ? 1 : 2);

/** Decodes Modbus registers (16-bit words) into a number, honouring byte order within a word and word order across two. */
export function decodeRegisters(registers: readonly number[], type: RegisterType, byteOrder: Order, wordOrder: Order): number {
  const n = registerCount(type);
  if (registers.length < n) throw new Error(`${type} needs ${n} registers, got ${registers.length}`);
  const words = registers.slice(0, n);
  if (n === 2 && wordOrder === 'little') words.reverse();
  const buf = Buffer.alloc(n * 2);
  words.forEach((w, i) => {
    const hi = (w >> 8) & 0xff;
    const lo = w & 0xff;
    buf[i * 2] = byteOrder === 'big' ? hi : lo;
    buf[i * 2 + 1] = byteOrder === 'big' ? lo : hi;
  });
  switch (type) {
    case 'int16':
      return buf.readInt16BE(0);
    case 'uint16':
      return buf.readUInt16BE(0);
    case 'int32':
      return buf.readInt32BE(0);
    case 'uint32':
      return buf.readUInt32BE(0);
    case 'float32':
      return buf.readFloatBE(0);
  }
}

/** The inverse, for tests and simulated devices: a number into registers in the given orders. */
export function encodeRegisters(value: number, type: RegisterType, byteOrder: Order, wordOrder: Order): number[] {
  const n = registerCount(type);
  const buf = Buffer.alloc(n * 2);
  if (type === 'int16') buf.writeInt16BE(value);
  else if (type === 'uint16') buf.writeUInt16BE(value);
  else if (type === 'int32') buf.writeInt32BE(value);
  else if (type === 'uint32') buf.writeUInt32BE(value);
  else buf.writeFloatBE(value);
  const words = Array.from({ length: n }, (_, i) => (byteOrder === 'big' ? (buf[i * 2]! << 8) | buf[i * 2 + 1]! : (buf[i * 2 + 1]! << 8) | buf[i * 2]!));
  if (n === 2 && wordOrder === 'little') words.reverse();
  return words;
}

const EXCEPTIONS: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

export function exceptionName(code: number): string {
  return EXCEPTIONS[code] ?? `exception ${code}`;
}
