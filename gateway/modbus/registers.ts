/**
 * Numbers in Modbus registers (16-bit words), for every reader of registers (the floor sensors, the energy meters):
 * 16-, 32- and 64-bit integers and IEEE floats, with byte order inside a word and word order across words
 * (`little` word order = low word first, as the Carlo Gavazzi EM24 sends its INT32s).
 */
export type ModbusValueType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64';
export type ModbusOrder = 'big' | 'little';

/** Registers a value of `type` takes: 1, 2 or 4. */
export function registerWords(type: ModbusValueType): number {
  return type.endsWith('16') ? 1 : type.endsWith('32') ? 2 : 4;
}

/** The number in `registers` (as read off the wire). Throws when fewer registers than the type needs are given. */
export function decodeRegisters(registers: readonly number[], type: ModbusValueType, byteOrder: ModbusOrder, wordOrder: ModbusOrder): number {
  const n = registerWords(type);
  if (registers.length < n) throw new Error(`${type} needs ${n} registers, got ${registers.length}`);
  const words = registers.slice(0, n);
  if (wordOrder === 'little') words.reverse();
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
    case 'int64':
      return Number(buf.readBigInt64BE(0));
    case 'uint64':
      return Number(buf.readBigUInt64BE(0));
    case 'float32':
      return buf.readFloatBE(0);
    case 'float64':
      return buf.readDoubleBE(0);
  }
}

/** The inverse (simulated devices, tests): `value` into registers in wire order; integer types take it as it is. */
export function encodeRegisters(value: number, type: ModbusValueType, byteOrder: ModbusOrder, wordOrder: ModbusOrder): number[] {
  const n = registerWords(type);
  const buf = Buffer.alloc(n * 2);
  switch (type) {
    case 'int16':
      buf.writeInt16BE(value);
      break;
    case 'uint16':
      buf.writeUInt16BE(value);
      break;
    case 'int32':
      buf.writeInt32BE(value);
      break;
    case 'uint32':
      buf.writeUInt32BE(value);
      break;
    case 'int64':
      buf.writeBigInt64BE(BigInt(value));
      break;
    case 'uint64':
      buf.writeBigUInt64BE(BigInt(value));
      break;
    case 'float32':
      buf.writeFloatBE(value);
      break;
    case 'float64':
      buf.writeDoubleBE(value);
      break;
  }
  const words = Array.from({ length: n }, (_, i) => (byteOrder === 'big' ? (buf[i * 2]! << 8) | buf[i * 2 + 1]! : (buf[i * 2 + 1]! << 8) | buf[i * 2]!));
  return wordOrder === 'little' ? words.reverse() : words;
}
