/**
 * The bill and the measured savings as they leave the gateway (API, MQTT retained, CSV, status page): amounts to
 * the cent (rounded once from full precision, gateway/bill/money.ts), times in UTC ISO with *_local dates in
 * Europe/Madrid. Built from BillPart and ClosedDay, so every channel shows the same figures.
 */
import type { Contract } from '../contract/contract.js';
import { formatLocalIso, formatUtcIso, localDate, PLANT_TZ } from '../time/tz.js';
import { billAmounts, type BillAmounts, type BillPart, type Coverage } from './bill.js';
import { cents, centsSplit, round3 } from './money.js';
import type { ClosedDay } from './savings.js';
import { contractFingerprint } from './closed-bills.js';

/**
 * The contract a span of days was billed with: a closed day (stored when it closed, never recomputed) keeps the
 * contract in force then; an open one (today, or a day not closed yet) is billed with the current contract.
 */
export interface BilledWith {
  from_local: string;
  to_local: string;
  closed: boolean;
  /** when the (last) day of the span closed, UTC ISO; null for open days */
  closed_at: string | null;
  /** gateway/bill/closed-bills.ts contractFingerprint */
  contract_sha256: string;
  contract: Contract;
}

/**
 * How a month adds up from its day list (GET /api/bill/days): total = days_total_eur + unmeasured_days_eur +
 * excess_eur + excess_tax_eur + excess_vat_eur + rounding_eur, every figure to the cent.
 */
export interface MonthReconciliation {
  rule: string;
  /** Σ total_eur of the day bills of the month (the days with a measured quarter-hour, as the day list shows them) */
  days_total_eur: number;
  days: number;
  /** power term, tax and VAT of the days without any measured quarter-hour (the day list leaves them out) */
  unmeasured_days_eur: number;
  unmeasured_days: number;
  excess_eur: number;
  excess_tax_eur: number;
  excess_vat_eur: number;
  /** the month's terms are rounded once, the days' one by one: the difference, a few cents at most */
  rounding_eur: number;
  total_eur: number;
}

/** The sentence a day bill carries about the excess term (a day has none: it is billed per month). */
export const DAY_EXCESS_NOTE = 'the excess-power term is billed per month (CNMC Circular 3/2020 art. 9), not per day: it is in the month\'s bill (GET /api/bill/month/YYYY-MM), whose reconciliation adds the days and the month\'s excess up to its total';

export interface BillPeriodPayload {
  period: number;
  energy_kwh: number;
  energy_eur: number;
  /** power term of this power period, € (absent for a line submeter) */
  power_eur: number | null;
  contracted_kw: number | null;
  /** monthly excess of this period, € (null for a day: the formula is monthly) */
  excess_eur: number | null;
  quarter_hours_above: number | null;
  /** the period's highest quarter-hour demand (4 × kWh), kW: the maxímetro's Pmax (null for a day or no measurement) */
  max_kw: number | null;
  /** start of that quarter-hour, UTC ISO and local (Europe/Madrid); null with max_kw */
  max_at: string | null;
  max_at_local: string | null;
  /**
   * quarter-hours of the period whose demand was above the contracted power by an ESTIMATE only (an interpolated
   * quarter-hour: energy measured, timing not; gateway/meters/counter.ts): never priced in excess_eur nor taken as
   * max_kw; null for a day or without an excess term
   */
  estimated_above: number | null;
  /** the highest estimated quarter-hour demand of the period, kW (labelled estimated; null: none, or a day) */
  estimated_max_kw: number | null;
}

export interface BillPayload {
  v: number;
  /** when the figures were computed */
  at: string;
  meter: string;
  /** where the readings come from (energy.meters[].provenance): 'measured' for a real meter, 'simulated: …' in the demo */
  provenance: string;
  role: 'site' | 'line';
  line: string | null;
  /** day, month (calendar month, or month to date while it runs) */
  kind: 'day' | 'month';
  start: string;
  end: string;
  /** first local date of the range and the local date of its last instant */
  from_local: string;
  to_local: string;
  /** measured: every quarter-hour measured or interpolated (and priced); partial otherwise (coverage says what) */
  measured: 'measured' | 'partial';
  tariff: string;
  energy_pricing: 'indexed' | 'fixed';
  /**
   * how the excess term was computed (null for a day, a line submeter and 2.0TD): 'quarter-hour' Σ_p Kp × tep ×
   * sqrt(Σ (Pd − Pc)²), or 'maximetro' Σ_p 2 × (Pmax − Pc) × tep × excess_days / 30
   */
  excess_metering: 'quarter-hour' | 'maximetro' | null;
  /** the maxímetro's billing days (the days / 30 factor; null otherwise) */
  excess_days: number | null;
  /** tep of the excess term, €/kW (null when there is no excess term) */
  excess_tep_eur_kw: number | null;
  /** the bill's terms to the cent; excess_eur is null on a day (not computed: the excess is billed monthly, excess_billing) */
  terms: Omit<BillAmounts, 'excess_eur'> & { excess_eur: number | null };
  /** 'monthly': a day of a supply with an excess term (terms.excess_eur null, see excess_note); 'in the terms': a month; 'none': a line submeter or a 2.0TD supply */
  excess_billing: 'monthly' | 'in the terms' | 'none';
  excess_note: string | null;
  /** the contract each span of days was billed with (a closed day keeps the one it was billed with) */
  billed_with: BilledWith[];
  /** a site meter's month: how its day bills and the monthly excess add up to its total (null otherwise) */
  reconciliation: MonthReconciliation | null;
  periods: BillPeriodPayload[];
  coverage: Coverage;
  /** a month in progress projected to its end (a forecast: energy scaled from the days so far, excess so far) */
  projected: (BillAmounts & { label: 'forecast' }) | null;
}

export function billPayload(part: BillPart, meta: { meter: string; provenance?: string; role: 'site' | 'line'; line?: string; kind: 'day' | 'month'; at: number; contract: Contract; projected?: Parameters<typeof billAmounts>[0] | null; timezone?: string; billedWith?: BilledWith[]; reconciliation?: MonthReconciliation | null }): BillPayload {
  const tz = meta.timezone ?? PLANT_TZ;
  const n = Math.max(part.energy.length, part.power.length);
  const terms = billAmounts(part);
  // each column of the period rows adds up to its term (rounded once from full precision): largest remainder
  const energyEur = centsSplit(part.energy.map((e) => e.eur), terms.energy_eur);
  const powerEur = centsSplit(part.power.map((p) => p.eur), terms.power_eur);
  const excessEur = part.excess ? centsSplit(part.excess.periods.map((x) => x.eur), terms.excess_eur) : [];
  const periods: BillPeriodPayload[] = Array.from({ length: n }, (_, i) => {
    const e = part.energy[i];
    const p = part.power[i];
    const x = part.excess?.periods[i];
    return {
      period: i + 1,
      energy_kwh: round3(e?.kwh ?? 0),
      energy_eur: e ? energyEur[i]! : 0,
      power_eur: p ? powerEur[i]! : null,
      contracted_kw: p ? p.contractedKw : null,
      excess_eur: x ? excessEur[i]! : null,
      quarter_hours_above: x ? x.quarterHoursAbove : null,
      max_kw: x?.maxKw ?? null,
      max_at: x?.maxAt != null ? formatUtcIso(x.maxAt) : null,
      max_at_local: x?.maxAt != null ? formatLocalIso(x.maxAt, tz) : null,
      estimated_above: x ? x.estimatedAbove : null,
      estimated_max_kw: x?.estimatedMaxKw ?? null,
    };
  });
  // nothing expected or nothing measured is never "measured" (a month not started, a span the meter never saw)
  const monthly = !part.excess && !part.energyOnly && meta.contract.tariff !== '2.0TD';
  const excessBilling = monthly ? 'monthly' : part.excess ? 'in the terms' : 'none';
  const complete = part.coverage.missing === 0 && part.coverage.unpriced === 0 && part.coverage.expected > 0 && part.coverage.measured + part.coverage.interpolated > 0;
  return {
    v: 1,
    at: formatUtcIso(meta.at),
    meter: meta.meter,
    provenance: meta.provenance ?? 'measured',
    role: meta.role,
    line: meta.line ?? null,
    kind: meta.kind,
    start: formatUtcIso(part.start),
    end: formatUtcIso(part.end),
    from_local: localDate(part.start, tz),
    to_local: localDate(Math.max(part.start, part.end - 1), tz),
    measured: complete ? 'measured' : 'partial',
    tariff: meta.contract.tariff,
    energy_pricing: 'fixed' in meta.contract.energy ? 'fixed' : 'indexed',
    excess_metering: part.excess?.metering ?? null,
    excess_days: part.excess?.days == null ? null : Math.round(part.excess.days * 1e4) / 1e4,
    excess_tep_eur_kw: part.excess?.metering ? meta.contract.tepEurKw : null,
    terms: monthly ? { ...terms, excess_eur: null } : terms,
    excess_billing: excessBilling,
    excess_note: monthly ? DAY_EXCESS_NOTE : null,
    billed_with: meta.billedWith ?? [{ from_local: localDate(part.start, tz), to_local: localDate(Math.max(part.start, part.end - 1), tz), closed: false, closed_at: null, contract_sha256: contractFingerprint(meta.contract), contract: meta.contract }],
    reconciliation: meta.reconciliation ?? null,
    periods,
    coverage: part.coverage,
    projected: meta.projected ? { ...billAmounts(meta.projected), label: 'forecast' } : null,
  };
}

/** A closed day as published (the stored record without the prices it was priced with, which the API serves on request). */
export type ClosedDayPayload = Omit<ClosedDay, 'priced_with'> & { tariff: string };

export interface SavingsTotal {
  from_local: string;
  to_local: string;
  /** sums over the measured days only; null when no day of the group was measured (never a zero saving) */
  saved_eur: number | null;
  actual_eur: number | null;
  baseline_eur: number | null;
  kwh: number | null;
  measured_days: number;
  /** days not measured (a meter gap) or not priced: left out of the sum, never counted as zero */
  not_measured_days: number;
}

export interface SavingsPayload {
  v: number;
  at: string;
  days: ClosedDayPayload[];
  weeks: Array<SavingsTotal & { week: string }>;
  months: Array<SavingsTotal & { month: string }>;
  total: SavingsTotal | null;
}

/** ISO week label (YYYY-Www) of a local date. */
export function isoWeek(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  const day = (d.getUTCDay() + 6) % 7;
  d.setUTCDate(d.getUTCDate() - day + 3);
  const firstThursday = new Date(Date.UTC(d.getUTCFullYear(), 0, 4));
  const week = 1 + Math.round(((d.getTime() - firstThursday.getTime()) / 86_400_000 - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

function total(days: readonly ClosedDay[]): SavingsTotal {
  const measured = days.filter((d) => d.status === 'measured');
  const sum = (f: (d: ClosedDay) => number | null) => measured.reduce((s, d) => s + (f(d) ?? 0), 0);
  return {
    from_local: days[0]!.date,
    to_local: days[days.length - 1]!.date,
    saved_eur: measured.length ? cents(sum((d) => d.saved_eur)) : null,
    actual_eur: measured.length ? cents(sum((d) => d.actual_eur)) : null,
    baseline_eur: measured.length ? cents(sum((d) => d.baseline_eur)) : null,
    kwh: measured.length ? round3(sum((d) => d.kwh)) : null,
    measured_days: measured.length,
    not_measured_days: days.length - measured.length,
  };
}

/** Days, ISO weeks and months of closed days (sorted by date); sums of their stored, rounded figures. */
export function savingsPayload(days: readonly ClosedDay[], at: number): SavingsPayload {
  const sorted = [...days].sort((a, b) => a.date.localeCompare(b.date));
  const group = (key: (d: ClosedDay) => string) => {
    const m = new Map<string, ClosedDay[]>();
    for (const d of sorted) m.set(key(d), [...(m.get(key(d)) ?? []), d]);
    return [...m];
  };
  return {
    v: 1,
    at: formatUtcIso(at),
    days: sorted.map(({ priced_with, ...d }) => ({ ...d, tariff: priced_with.contract.tariff })),
    weeks: group((d) => isoWeek(d.date)).map(([week, list]) => ({ week, ...total(list) })),
    months: group((d) => d.date.slice(0, 7)).map(([month, list]) => ({ month, ...total(list) })),
    total: sorted.length ? total(sorted) : null,
  };
}

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** CSV of daily or monthly bills: one row per bill, amounts to the cent. */
export function billsCsv(bills: readonly BillPayload[]): string {
  // excess_eur is empty (never 0.00) on a day whose excess is billed monthly: excess_billing says so
  const head = 'meter,kind,from_local,to_local,start,end,measured,energy_kwh,energy_eur,power_eur,excess_eur,tax_eur,vat_eur,total_eur,quarter_hours,measured_qh,interpolated_qh,missing_qh,unpriced_qh,excess_billing,closed,contract_sha256';
  const rows = bills.map((b) =>
    [b.meter, b.kind, b.from_local, b.to_local, b.start, b.end, b.measured, b.terms.energy_kwh, b.terms.energy_eur.toFixed(2), b.terms.power_eur.toFixed(2), b.terms.excess_eur === null ? '' : b.terms.excess_eur.toFixed(2), b.terms.tax_eur.toFixed(2), b.terms.vat_eur.toFixed(2), b.terms.total_eur.toFixed(2), b.coverage.expected, b.coverage.measured, b.coverage.interpolated, b.coverage.missing, b.coverage.unpriced, b.excess_billing, b.billed_with.every((w) => w.closed) ? 'closed' : 'open', [...new Set(b.billed_with.map((w) => w.contract_sha256))].join(' ')].map(csvCell).join(','),
  );
  return `${[head, ...rows].join('\n')}\n`;
}

/** CSV of closed days (one row per day; not measured days with empty amounts and their reason). */
export function savingsCsv(days: readonly ClosedDay[]): string {
  const head = 'date,status,method,kwh,actual_eur,baseline_eur,saved_eur,runs,closed_at,reason';
  const f = (x: number | null) => (x === null ? '' : x.toFixed(2));
  const rows = [...days]
    .sort((a, b) => a.date.localeCompare(b.date))
    .map((d) => [d.date, d.status, d.method, d.kwh ?? '', f(d.actual_eur), f(d.baseline_eur), f(d.saved_eur), d.runs.length, d.closed_at, d.reason ?? ''].map(csvCell).join(','));
  return `${[head, ...rows].join('\n')}\n`;
}
