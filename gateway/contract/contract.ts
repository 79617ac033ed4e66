/**
 * The electricity supply contract, resolved for billing: the config `energy.contract` (schema in
 * gateway/config/contract-schema.ts) with Kp filled from the tariff and every array checked. Pure data.
 */
import { contractProblems, ContractSchema, derivedExcessMetering, MAXIMETRO_MAX_KW, type ContractConfig } from '../config/contract-schema.js';
import { energyPeriods, powerPeriods, type AccessTariff } from './calendar.js';

export { ContractSchema, contractProblems, derivedExcessMetering, MAXIMETRO_MAX_KW, type ContractConfig };

/**
 * How a supply's excess power is billed (CNMC Circular 3/2020 art. 9, ../shared/design/energy.md): 'quarter-hour'
 * (FEP = Σ_p Kp × tep × sqrt(Σ_j (Pd_j − Pc,p)²), supplies above 50 kW) or 'maximetro' (Σ_p 2 × (Pmax,p − Pc,p) ×
 * tep × days / 30, supplies of 15-50 kW).
 */
export type ExcessMetering = 'quarter-hour' | 'maximetro';

/** Kp of the excess-power formula per tariff (Circular 3/2020 art. 9; energy.md) — check your contract. */
export const KP_BY_TARIFF: Record<AccessTariff, readonly number[]> = {
  '6.1TD': [1, 1, 0.542746, 0.41026, 0.026371, 0.026371],
  '3.0TD': [1, 0.873773, 0.35234, 0.267883, 0.107572, 0.107572],
  // 2.0TD supplies have no quarter-hour excess term (an ICP or maxímetro limits them): Kp is kept for shape only.
  '2.0TD': [1, 1],
};

/** tep of the excess-power formula, €/kW (energy.md) — check your contract. */
export const DEFAULT_TEP_EUR_KW = 1.4064;
export const DEFAULT_ELECTRICITY_TAX_PCT = 5.11269632;
export const DEFAULT_VAT_PCT = 21;

/** A contract ready to bill: every per-period array sized for its tariff (index 0 = P1). */
export interface Contract {
  tariff: AccessTariff;
  /** kW per power period, non-decreasing. */
  contractedKw: number[];
  /** €/kW·year per power period. */
  powerPriceEurKwYear: number[];
  /** €/kWh per energy period, added to an indexed energy price. */
  tollsAndChargesEurKwh: number[];
  energy: { indexed: { marginEurMwh: number } } | { fixed: number[] };
  tepEurKw: number;
  /** per power period. */
  kp: number[];
  /**
   * How the excess is billed: the config's `excessMetering`, else derived from the tariff and contracted powers
   * (derivedExcessMetering); null for 2.0TD (no excess term). Absent on a contract built by hand or stored before
   * it existed: read it with excessMeteringOf.
   */
  excessMetering?: ExcessMetering | null;
  electricityTaxPct: number;
  vatPct: number;
}

export class ContractError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'ContractError';
  }
}

/**
 * The billing contract from its config: fills the defaults (tep, tax, VAT, Kp from the tariff) and refuses
 * (ContractError, one sentence per problem) arrays of the wrong length and a decreasing set of contracted powers.
 */
export function resolveContract(config: Partial<ContractConfig> & Pick<ContractConfig, 'tariff' | 'contractedKw' | 'powerPriceEurKwYear' | 'tollsAndChargesEurKwh' | 'energy'>): Contract {
  const withDefaults: ContractConfig = {
    tepEurKw: DEFAULT_TEP_EUR_KW,
    electricityTaxPct: DEFAULT_ELECTRICITY_TAX_PCT,
    vatPct: DEFAULT_VAT_PCT,
    ...config,
  };
  const problems = contractProblems(withDefaults, 'energy.contract');
  if (problems.length) throw new ContractError(problems);
  const energy =
    'fixed' in withDefaults.energy
      ? { fixed: [...withDefaults.energy.fixed] }
      : { indexed: { marginEurMwh: withDefaults.energy.indexed.marginEurMwh ?? 0 } };
  return {
    tariff: withDefaults.tariff,
    contractedKw: [...withDefaults.contractedKw],
    powerPriceEurKwYear: [...withDefaults.powerPriceEurKwYear],
    tollsAndChargesEurKwh: [...withDefaults.tollsAndChargesEurKwh],
    energy,
    tepEurKw: withDefaults.tepEurKw,
    kp: [...(withDefaults.kp ?? KP_BY_TARIFF[withDefaults.tariff])],
    excessMetering: withDefaults.tariff === '2.0TD' ? null : (withDefaults.excessMetering ?? derivedExcessMetering(withDefaults.tariff, withDefaults.contractedKw)),
    electricityTaxPct: withDefaults.electricityTaxPct,
    vatPct: withDefaults.vatPct,
  };
}

/** How `contract`'s excess is billed (its excessMetering, else derived from tariff and powers); null for 2.0TD. */
export function excessMeteringOf(contract: Pick<Contract, 'tariff' | 'contractedKw' | 'excessMetering'>): ExcessMetering | null {
  if (contract.tariff === '2.0TD') return null;
  return contract.excessMetering ?? derivedExcessMetering(contract.tariff, contract.contractedKw);
}

/** Contracted power (kW) of power period `period` (1-based). */
export function contractedKwOf(contract: Contract, period: number): number {
  const kw = contract.contractedKw[period - 1];
  if (kw === undefined) throw new Error(`${contract.tariff} has no power period P${period}`);
  return kw;
}

export { energyPeriods, powerPeriods };
