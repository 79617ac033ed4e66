/**
 * Closed days' bills, stored as billed: a local day's bill (BillPart, every term in full precision) is computed
 * once, when the day closes (an hour after its end), with the contract in force then, and stored with that
 * contract and its fingerprint. The API serves the stored bill from then on: a contract edited later (tolls
 * change every January by regulation) applies from the day it takes effect, never to a closed day. A month is the
 * sum of its days (closed ones as stored, open ones with the current contract) plus its monthly excess term,
 * itself stored when the month's last day closes.
 *
 * Keys: `bill.day.<meter>.<YYYY-MM-DD>` (ClosedBillDay), `bill.monthExcess.<meter>.<YYYY-MM>` (ClosedMonthExcess).
 */
import { createHash } from 'node:crypto';
import { excessMeteringOf, type Contract } from '../contract/contract.js';
import { formatUtcIso } from '../time/tz.js';
import { taxesOn, type BillPart, type Coverage } from './bill.js';
import type { ExcessBreakdown } from './excess.js';
import type { LedgerStore } from './savings.js';

/** A closed day's bill as stored: never recomputed. */
export interface ClosedBillDay {
  v: 1;
  date: string;
  meter: string;
  closed_at: string;
  contract: Contract;
  contract_sha256: string;
  part: BillPart;
}

/** A closed month's excess term as stored (the month's last day closed), with the contract it was priced with. */
export interface ClosedMonthExcess {
  v: 1;
  month: string;
  meter: string;
  closed_at: string;
  contract: Contract;
  contract_sha256: string;
  excess: ExcessBreakdown | null;
}

export const closedBillKey = (meter: string, date: string): string => `bill.day.${meter}.${date}`;
export const closedMonthExcessKey = (meter: string, month: string): string => `bill.monthExcess.${meter}.${month}`;

/** sha256 (hex, first 16 digits) of the contract as billed: its canonical JSON (sorted keys, excessMetering resolved). */
export function contractFingerprint(contract: Contract): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v;
  const resolved = { ...contract, excessMetering: excessMeteringOf(contract) };
  return createHash('sha256').update(JSON.stringify(canon(resolved))).digest('hex').slice(0, 16);
}

/** Stores a record once (write-once, as the savings ledger): returns the stored one and whether it was new. */
export async function storeOnce<T>(store: LedgerStore, key: string, value: T): Promise<[T, boolean]> {
  const had = await store.getValue<T>(key);
  if (had) return [had, false];
  await store.setValue(key, value);
  return [value, true];
}

export function closedBillDay(meter: string, date: string, contract: Contract, part: BillPart, closedAt: number): ClosedBillDay {
  return { v: 1, date, meter, closed_at: formatUtcIso(closedAt), contract, contract_sha256: contractFingerprint(contract), part };
}

/**
 * The bill of a range made of whole or partial days (each without an excess term, each priced with its own
 * contract) plus the range's monthly excess priced with `excessContract`:
 *   energy, power, kWh, coverage = Σ days;  excess = the monthly term;
 *   tax = Σ days' tax + excess × tax%;  VAT = Σ days' VAT + (excess + its tax) × VAT%   (excessContract's rates).
 * With one contract over the whole range this is computeBill over the range (tax and VAT are linear).
 * Per-period contracted kW and €/kW·year are the last day's (the contract in force at the end); euros are summed.
 */
export function sumDayParts(days: readonly BillPart[], start: number, end: number, excess: ExcessBreakdown | null, excessContract: Contract, energyOnly: boolean): BillPart {
  const energy: BillPart['energy'] = [];
  const power: BillPart['power'] = [];
  const coverage: Coverage = { expected: 0, measured: 0, interpolated: 0, missing: 0, unpriced: 0 };
  let kwh = 0;
  let dayCount = 0;
  let taxEur = 0;
  let vatEur = 0;
  for (const d of days) {
    for (const e of d.energy) {
      const t = (energy[e.period - 1] ??= { period: e.period, kwh: 0, energyPriceEur: 0, tollsEur: 0, eur: 0 });
      t.kwh += e.kwh;
      t.energyPriceEur += e.energyPriceEur;
      t.tollsEur += e.tollsEur;
      t.eur += e.eur;
    }
    for (const p of d.power) {
      const t = (power[p.period - 1] ??= { period: p.period, contractedKw: p.contractedKw, eurKwYear: p.eurKwYear, days: 0, eur: 0 });
      t.contractedKw = p.contractedKw;
      t.eurKwYear = p.eurKwYear;
      t.days += p.days;
      t.eur += p.eur;
    }
    for (const k of Object.keys(coverage) as Array<keyof Coverage>) coverage[k] += d.coverage[k];
    kwh += d.kwh;
    dayCount += d.days;
    taxEur += d.taxEur;
    vatEur += d.vatEur;
  }
  const excessEur = excess?.eur ?? 0;
  const { taxEur: excessTax, vatEur: excessVat } = taxesOn(excessEur, excessContract);
  const energyEur = energy.reduce((s, e) => s + e.eur, 0);
  const powerEur = power.reduce((s, p) => s + p.eur, 0);
  return { start, end, days: dayCount, kwh, energy, power, excess, energyEur, powerEur, excessEur, taxEur: taxEur + excessTax, vatEur: vatEur + excessVat, coverage, energyOnly };
}
