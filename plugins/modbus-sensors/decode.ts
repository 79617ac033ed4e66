import { decodeRegisters as decodeValue, encodeRegisters as encodeValue, registerWords } from '../../gateway/modbus/registers.js';

/** The types a floor-sensor point may have (a subset of the shared gateway/modbus/registers.ts). */
export type RegisterType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';
export type Order = 'big' | 'little';

export const registerCount = (type: RegisterType): number => registerWords(type);

/** Decodes Modbus registers (16-bit words) into a number, honouring byte order within a word and word order across two. */
export function decodeRegisters(registers: readonly number[], type: RegisterType, byteOrder: Order, wordOrder: Order): number {
  return decodeValue(registers, type, byteOrder, wordOrder);
}

/** The inverse, for tests and simulated devices: a number into registers in the given orders. */
export function encodeRegisters(value: number, type: RegisterType, byteOrder: Order, wordOrder: Order): number[] {
  return encodeValue(value, type, byteOrder, wordOrder);
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
