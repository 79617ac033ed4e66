import { Type, type Static } from '@sinclair/typebox';

/**
 * The electricity supply contract as data (config `energy.contract`), written from the plant's contract and bill.
 * Defaults are the public values of ../shared/design/energy.md (CNMC Circular 3/2020, Ley 38/1992, Ley 37/1992):
 * check them against your contract. The checks a schema cannot say (array lengths per tariff, contracted powers
 * non-decreasing P1 ≤ … ≤ P6, figures in the wrong unit, an excessMetering the regulation refuses) are contractProblems
 * below, run by loadConfig.
 */
const CHECK = 'check your contract';

const PerPeriod = (description: string, minimum = 0) =>
  Type.Array(Type.Number({ minimum }), { minItems: 2, maxItems: 6, description });

export const ContractSchema = Type.Object(
  {
    tariff: Type.Union([Type.Literal('2.0TD'), Type.Literal('3.0TD'), Type.Literal('6.1TD')], {
      description: 'access tariff (peaje de acceso): 2.0TD (≤ 15 kW), 3.0TD (low voltage > 15 kW), 6.1TD (1-30 kV)',
    }),
    contractedKw: Type.Array(Type.Number({ exclusiveMinimum: 0 }), {
      minItems: 2,
      maxItems: 6,
      description: 'contracted power per power period, kW: P1..P6 (3.0TD, 6.1TD) or P1, P2 (2.0TD); non-decreasing',
    }),
    powerPriceEurKwYear: PerPeriod('power term price per power period, €/kW·year (tolls + charges + supplier), pro-rated by days / 365'),
    tollsAndChargesEurKwh: PerPeriod('energy tolls and charges per energy period, €/kWh (added to an indexed energy price; a fixed price already holds them)'),
    energy: Type.Union(
      [
        Type.Object(
          { indexed: Type.Object({ marginEurMwh: Type.Number({ default: 0, description: 'supplier margin and pass-through costs over the OMIE price, €/MWh' }) }, { additionalProperties: false }) },
          { additionalProperties: false },
        ),
        Type.Object({ fixed: PerPeriod('fixed energy price per energy period, €/kWh, tolls and charges included') }, { additionalProperties: false }),
      ],
      { description: '{ indexed: { marginEurMwh } } (OMIE quarter-hour price + margin) or { fixed: [€/kWh per period] }' },
    ),
    tepEurKw: Type.Number({ minimum: 0, default: 1.4064, description: `tep of the excess-power formula, €/kW (Circular 3/2020 art. 9); ${CHECK}` }),
    kp: Type.Optional(PerPeriod(`Kp per period of the excess-power formula; default from the tariff (6.1TD 1, 1, 0.542746, 0.41026, 0.026371, 0.026371; 3.0TD 1, 0.873773, 0.35234, 0.267883, 0.107572, 0.107572); ${CHECK}`)),
    excessMetering: Type.Optional(
      Type.Union([Type.Literal('quarter-hour'), Type.Literal('maximetro')], {
        description:
          'how the supply\'s excess power is measured and billed (CNMC Circular 3/2020 art. 9): quarter-hour (Σ_p Kp × tep × sqrt(Σ (Pd − Pc)²), supplies above 50 kW) or maximetro (Σ_p 2 × (Pmax,p − Pc,p) × tep × days / 30, supplies of 15-50 kW); default from the tariff and contracted powers: 3.0TD with every Pc ≤ 50 kW maximetro, else quarter-hour (6.1TD quarter-hour; a 6.1TD of ≤ 50 kW billed on a maxímetro sets maximetro); not for 2.0TD',
      }),
    ),
    electricityTaxPct: Type.Number({ minimum: 0, maximum: 100, default: 5.11269632, description: `Impuesto Especial sobre la Electricidad, % of energy + power + excess; ${CHECK}` }),
    vatPct: Type.Number({ minimum: 0, maximum: 100, default: 21, description: `VAT (IVA), % of energy + power + excess + tax; ${CHECK}` }),
  },
  { additionalProperties: false },
);

export type ContractConfig = Static<typeof ContractSchema>;

/** A figure for a message: 0.21, 29, 0.0511 (no float noise). */
const fig = (x: number): string => String(Number(x.toPrecision(10)));

/**
 * Figures in the wrong unit, which the schema's bounds let through and which would bill a plant 100 or 1000 times
 * off without a word: a percentage written as a fraction (VAT 0.21 for 21 %), €/MWh where €/kWh is asked (tolls 29
 * for 0.029, a fixed price 140 for 0.14), a power price per day or month where €/kW·year is asked, a margin in €/kWh
 * where €/MWh is asked, watts where kW is asked, and a 2.0TD contract above its 15 kW. The bounds are far outside
 * every real Spanish contract (CNMC Circular 3/2020; IVA 21 %, 10 % or 5 %; IEE ≥ 0.5 %; tolls and charges and
 * fixed prices well under 1 €/kWh; a P1 power price of several €/kW·year). One sentence per figure.
 */
function unitProblems(contract: ContractConfig, path: string): string[] {
  const problems: string[] = [];
  const pct = (name: 'vatPct' | 'electricityTaxPct', below: number, example: string) => {
    const v = contract[name];
    if (v !== undefined && v > 0 && v < below) problems.push(`${path}/${name}: a percentage is expected (${example}), got ${fig(v)}, which looks like a fraction: write ${fig(v * 100)} for ${fig(v * 100)} %`);
  };
  pct('vatPct', 1, '21 for 21 %');
  pct('electricityTaxPct', 0.5, '5.11269632 for 5.11269632 %');
  const perKwh = (name: string, values: readonly number[] | undefined) => {
    const i = values ? values.findIndex((v) => v > 1) : -1;
    if (values && i >= 0) problems.push(`${path}/${name}: €/kWh is expected, got ${fig(values[i]!)} for P${i + 1}, which looks like €/MWh: ${fig(values[i]!)} €/MWh is ${fig(values[i]! / 1000)} €/kWh`);
  };
  perKwh('tollsAndChargesEurKwh', contract.tollsAndChargesEurKwh);
  if ('fixed' in contract.energy) perKwh('energy/fixed', contract.energy.fixed);
  const power = contract.powerPriceEurKwYear;
  const top = power?.length ? Math.max(...power) : 0;
  if (top > 0 && top < 1) problems.push(`${path}/powerPriceEurKwYear: €/kW·year is expected, got at most ${fig(top)}, which looks like a price per day or per month (P1 is several €/kW·year; ${fig(top)} €/kW·day is ${fig(top * 365)} €/kW·year)`);
  if ('indexed' in contract.energy) {
    const m = contract.energy.indexed.marginEurMwh;
    if (m !== undefined && m !== 0 && Math.abs(m) < 0.1) problems.push(`${path}/energy/indexed/marginEurMwh: €/MWh is expected, got ${fig(m)}, which looks like €/kWh: ${fig(m)} €/kWh is ${fig(m * 1000)} €/MWh`);
  }
  const kw = contract.contractedKw ?? [];
  const big = kw.findIndex((v) => v > 50_000);
  if (big >= 0) problems.push(`${path}/contractedKw: kW is expected, got ${fig(kw[big]!)} for P${big + 1}, which looks like watts: ${fig(kw[big]!)} W is ${fig(kw[big]! / 1000)} kW`);
  else if (contract.tariff === '2.0TD' && kw.some((v) => v > 15)) problems.push(`${path}/contractedKw: 2.0TD is for supplies up to 15 kW, got ${fig(Math.max(...kw))} kW: a supply above 15 kW is 3.0TD (low voltage) or 6.1TD (1-30 kV)`);
  return problems;
}

/** Above this contracted power (kW, in any period) a supply's excess is billed quarter-hour by quarter-hour. */
export const MAXIMETRO_MAX_KW = 50;

/**
 * How the excess power of a 3.0TD or 6.1TD supply is measured when the contract does not say (CNMC Circular 3/2020
 * art. 9; RD 1110/2007 art. 7, measure point types 3 and 4): a 3.0TD whose every contracted power is ≤ 50 kW has a
 * maxímetro (type 4), any other 3.0TD and every 6.1TD a quarter-hour meter. null for 2.0TD (no excess term here).
 */
export function derivedExcessMetering(tariff: ContractConfig['tariff'], contractedKw: readonly number[]): 'quarter-hour' | 'maximetro' | null {
  if (tariff === '2.0TD') return null;
  return tariff === '3.0TD' && contractedKw.length > 0 && contractedKw.every((kw) => kw <= MAXIMETRO_MAX_KW) ? 'maximetro' : 'quarter-hour';
}

/** `excessMetering` where it contradicts the regulation (see derivedExcessMetering): one sentence each. */
function excessMeteringProblems(contract: ContractConfig, path: string): string[] {
  const set = contract.excessMetering;
  if (set === undefined) return [];
  const kw = contract.contractedKw ?? [];
  if (contract.tariff === '2.0TD') return [`${path}/excessMetering: a 2.0TD supply (≤ 15 kW) has no excess-power term here (an ICP or its meter cuts it off), so remove excessMetering`];
  const above = kw.findIndex((v) => v > MAXIMETRO_MAX_KW);
  if (set === 'maximetro' && above >= 0) return [`${path}/excessMetering: maximetro is for supplies of at most ${MAXIMETRO_MAX_KW} kW, but P${above + 1} = ${fig(kw[above]!)} kW, and above ${MAXIMETRO_MAX_KW} kW the excess is billed quarter-hour by quarter-hour (CNMC Circular 3/2020 art. 9): write quarter-hour or remove excessMetering`];
  if (set === 'quarter-hour' && contract.tariff === '3.0TD' && kw.length > 0 && above < 0) return [`${path}/excessMetering: a 3.0TD supply whose every contracted power is at most ${MAXIMETRO_MAX_KW} kW (here at most ${fig(Math.max(...kw))} kW) has a maxímetro and its excess is billed as 2 × (Pmax − Pc) × tep (CNMC Circular 3/2020 art. 9), not quarter-hour by quarter-hour: write maximetro or remove excessMetering`];
  return [];
}

/**
 * What the schema cannot check: arrays sized for the tariff (6 periods for 3.0TD/6.1TD; 2 power and 3 energy
 * periods for 2.0TD), contracted powers that never decrease from P1 to P6 (Circular 3/2020 art. 6) and figures in the
 * wrong unit (unitProblems). One sentence per problem, prefixed with the config path; [] when the contract is sound or absent.
 */
export function contractProblems(contract: ContractConfig | undefined, path = '/energy/contract'): string[] {
  if (!contract) return [];
  const problems: string[] = [];
  const six = contract.tariff !== '2.0TD';
  const powerN = six ? 6 : 2;
  const energyN = six ? 6 : 3;
  const sized = (name: string, values: number[] | undefined, n: number, what: string) => {
    if (values && values.length !== n) problems.push(`${path}/${name}: ${contract.tariff} has ${n} ${what} periods, got ${values.length} values`);
  };
  sized('contractedKw', contract.contractedKw, powerN, 'power');
  sized('powerPriceEurKwYear', contract.powerPriceEurKwYear, powerN, 'power');
  sized('tollsAndChargesEurKwh', contract.tollsAndChargesEurKwh, energyN, 'energy');
  if ('fixed' in contract.energy) sized('energy/fixed', contract.energy.fixed, energyN, 'energy');
  sized('kp', contract.kp, powerN, 'power');
  problems.push(...unitProblems(contract, path));
  problems.push(...excessMeteringProblems(contract, path));
  const kw = contract.contractedKw;
  for (let i = 1; i < kw.length; i++) {
    if (kw[i]! < kw[i - 1]!) {
      problems.push(
        `${path}/contractedKw: contracted power may not decrease from one period to the next (P1 ≤ P2 ≤ … ≤ P${kw.length}), but P${i + 1} = ${kw[i]} kW is below P${i} = ${kw[i - 1]} kW`,
      );
      break;
    }
  }
  return problems;
}
