import { registerCount, type RegisterType } from './decode.js';

/** The Modbus protocol's limit on registers per read request (function codes 3 and 4). */
export const MAX_REGISTERS_PER_READ = 125;

export interface BlockPoint {
  /** Index of the point in the device's point list. */
  index: number;
  /** First register of the point, relative to the block's start. */
  offset: number;
  count: number;
}

/** One read request: `count` registers of one kind from `address`, covering the listed points. */
export interface ReadBlock {
  register: 'holding' | 'input';
  address: number;
  count: number;
  points: BlockPoint[];
}

/**
 * Groups points into as few read requests as the protocol allows: points of the same register kind whose
 * registers are contiguous, or separated by at most `maxGap` unused registers, share one request of at most
 * 125 registers. Overlapping points (two views of the same registers) share a request too.
 */
export function planBlocks(points: ReadonlyArray<{ register: 'holding' | 'input'; address: number; type: RegisterType }>, maxGap: number): ReadBlock[] {
  const blocks: ReadBlock[] = [];
  for (const register of ['holding', 'input'] as const) {
    const sorted = points
      .map((p, index) => ({ index, address: p.address, count: registerCount(p.type), register: p.register }))
      .filter((p) => p.register === register)
      .sort((a, b) => a.address - b.address || a.index - b.index);
    let current: ReadBlock | undefined;
    for (const p of sorted) {
      const end = p.address + p.count;
      const currentEnd = current ? current.address + current.count : 0;
      if (current && p.address - currentEnd <= maxGap && Math.max(end, currentEnd) - current.address <= MAX_REGISTERS_PER_READ) {
        current.count = Math.max(end, currentEnd) - current.address;
        current.points.push({ index: p.index, offset: p.address - current.address, count: p.count });
      } else {
        current = { register, address: p.address, count: p.count, points: [{ index: p.index, offset: 0, count: p.count }] };
        blocks.push(current);
      }
    }
  }
  return blocks;
}
