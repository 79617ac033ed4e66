import { Type, type Static } from '@sinclair/typebox';

/**
 * The electricity supply contract as data (config `energy.contract`), written from the plant's contract and bill.
 * Defaults are the public values of ../shared/design/energy.md (CNMC Circular 3/2020, Ley 38/1992, Ley 37/1992):
 * check them against your contract. The checks a schema cannot say (array lengths per tariff, contracted powers
 * non-decreasing P1 ≤ … ≤ P6) are contractProblems below, run by loadConfig.
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
    electricityTaxPct: Type.Number({ minimum: 0, maximum: 100, default: 5.11269632, description: `Impuesto Especial sobre la Electricidad, % of energy + power + excess; ${CHECK}` }),
    vatPct: Type.Number({ minimum: 0, maximum: 100, default: 21, description: `VAT (IVA), % of energy + power + excess + tax; ${CHECK}` }),
  },
  { additionalProperties: false },
);

export type ContractConfig = Static<typeof ContractSchema>;

/**
 * What the schema cannot check: arrays sized for the tariff (6 periods for 3.0TD/6.1TD; 2 power and 3 energy
 * periods for 2.0TD) and contracted powers that never decrease from P1 to P6 (Circular 3/2020 art. 6). One
 * sentence per problem, prefixed with the config path; [] when the contract is sound or absent.
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
