import type { ContractConfig } from '../../gateway/config/contract-schema.js';

/**
 * The demo's supply contract, used only when the config has no energy.contract of its own, so that the demo shows
 * a measured bill and measured savings. ILLUSTRATIVE numbers for a 3.0TD supply of a plant of this size (about
 * 230 kW at its peak: 55-85 kW base load plus up to 150 kW of planned runs), not a real contract; tep, Kp, tax and
 * VAT are the defaults of energy.md.
 */
export const DEMO_CONTRACT: ContractConfig = {
  tariff: '3.0TD',
  contractedKw: [200, 200, 200, 200, 200, 250],
  powerPriceEurKwYear: [19.4, 10.2, 4.3, 3.7, 2.4, 1.4],
  tollsAndChargesEurKwh: [0.029, 0.021, 0.011, 0.007, 0.004, 0.002],
  energy: { indexed: { marginEurMwh: 6 } },
  tepEurKw: 1.4064,
  electricityTaxPct: 5.11269632,
  vatPct: 21,
};
