import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BillQuarterHour } from '../../gateway/bill/bill.js';
import { closeDay, fixedShiftStarts } from '../../gateway/bill/savings.js';
import { resolveContract } from '../../gateway/contract/contract.js';
import { localDayRange } from '../../gateway/time/tz.js';

type Reason = { re: RegExp; es: (m: RegExpExecArray) => string };
// The page's own script, run as the browser runs it (it assigns window.CHOCO_BILL_REASONS; the page is not loaded yet).
const source = readFileSync(new URL('../../gateway/http/status-page/bill.js', import.meta.url), 'utf8');
const win = {} as { CHOCO_BILL_REASONS?: Reason[]; CHOCO_BILL_LOCAL_TIMES?: (text: string, language: 'es' | 'en') => string };
new Function('window', 'document', source)(win, { readyState: 'loading', addEventListener: () => undefined, documentElement: { lang: 'es' } });
const spanish = (message: string): string | undefined => {
  const known = win.CHOCO_BILL_REASONS!.find((x) => x.re.test(message));
  return known?.es(known.re.exec(message)!);
};

const QH = 900_000;
const contract = resolveContract({ tariff: '6.1TD', contractedKw: [100, 100, 100, 100, 100, 200], powerPriceEurKwYear: [30, 25, 15, 10, 5, 2], tollsAndChargesEurKwh: [0.03, 0.02, 0.01, 0.008, 0.004, 0.002], energy: { indexed: { marginEurMwh: 5 } } });
const { start, end } = localDayRange('2026-01-07');

describe('status page: the reasons a day is not measured, in Spanish, as the gateway writes them', () => {
  it('knows every reason closeDay gives', () => {
    const site: BillQuarterHour[] = [];
    const prices = new Map<number, number>();
    for (let t = start; t < end; t += QH) {
      site.push({ start: t, kwh: 5, quality: 'measured' });
      prices.set(t, 50);
    }
    const runs = fixedShiftStarts([{ process: 'conching', line: 'conching', batch: 1, start: start + 4 * QH, end: start + 8 * QH, kw: 40 }], start + 24 * QH);
    const base = { date: '2026-01-07', contract, pricesEurMwh: prices, runs, siteQuarterHours: site, lineQuarterHours: {}, closedAt: end };
    const gap = closeDay({ ...base, siteQuarterHours: site.filter((q) => q.start !== start + 50 * QH) }).reason!;
    const sub = closeDay({ ...base, lineQuarterHours: { conching: [] } }).reason!;
    const noPrice = closeDay({ ...base, pricesEurMwh: new Map([...prices].filter(([t]) => t !== start + 24 * QH)) }).reason!;
    expect(spanish(gap)).toBe('el contador general no tiene medida para 2026-01-07T11:30:00Z');
    expect(spanish(sub)).toBe('el subcontador de conching no tiene medida para 2026-01-07T00:00:00Z (tanda conching n.º 1)');
    expect(spanish(noPrice)).toBe('sin precio de mercado para 2026-01-07T05:00:00Z');
  });

  // A figure's time is presented in plant time: the stored reason keeps UTC (the API's), the page shows Europe/Madrid
  // in the page's format (as localTime in app.js). On main the page showed "…no measurement for 2018-01-07T23:00:00Z".
  it('shows the times of a reason in plant time, in both languages (winter, summer, the 25-hour day)', () => {
    const local = win.CHOCO_BILL_LOCAL_TIMES;
    expect(local, 'bill.js exposes the reason-time formatter').toBeTypeOf('function');
    expect(local!('the site meter has no measurement for 2018-01-07T23:00:00Z', 'en')).toBe('the site meter has no measurement for 08/01/2018, 00:00');
    expect(local!(spanish('the site meter has no measurement for 2018-01-07T23:00:00Z (run conching #3)')!, 'es')).toBe('el contador general no tiene medida para 8/1/2018, 00:00 (tanda conching n.º 3)');
    expect(local!('no market price for 2026-07-01T10:15:00Z', 'en')).toBe('no market price for 01/07/2026, 12:15');
    // 2025-10-26 00:30Z and 01:30Z are both 02:30 local (CEST then CET)
    expect(local!('no market price for 2025-10-26T00:30:00Z', 'es')).toBe('no market price for 26/10/2025, 02:30');
    expect(local!('no market price for 2025-10-26T01:30:00Z', 'es')).toBe('no market price for 26/10/2025, 02:30');
    expect(local!('no time here', 'en')).toBe('no time here');
  });
});
