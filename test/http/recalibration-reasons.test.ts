import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type Reason = { re: RegExp; es: string | ((m: RegExpExecArray) => string); en: string | ((m: RegExpExecArray) => string) };

// The page's own dictionary file, run as the browser runs it (it assigns window.CHOCO_I18N).
const source = readFileSync(new URL('../../gateway/http/status-page/i18n.js', import.meta.url), 'utf8');
const window = {} as { CHOCO_I18N?: { RECALIBRATION_REASONS: Reason[] } };
new Function('window', source)(window);
const reasons = window.CHOCO_I18N!.RECALIBRATION_REASONS;

/** The short reason the page shows for a recalibration summary, as app.js picks it. */
function shown(summary: string, lang: 'es' | 'en'): string | undefined {
  const reason = reasons.find((r) => r.re.test(summary));
  if (!reason) return undefined;
  const said = reason[lang];
  return typeof said === 'function' ? said(reason.re.exec(summary)!) : said;
}

describe('the reason the status page gives for a daily recalibration', () => {
  it('says what happened, never a comparison that was not made', () => {
    expect(shown('calibration up to 2018-01-21 not promoted: no day of the last 14 could be scored; active stays 1.0.0 (1 ms CPU)', 'en')).toBe('no day to compare on yet; the active one stays');
    expect(shown('calibration up to 2025-11-10 not promoted: candidate D+1 MAE 12 > active 10 €/MWh (tolerance 2 %) on the last 14 days; active stays 2.0.0-c1', 'en')).toBe('the new calibration is worse than the active one on the last days');
    expect(shown('promoted 2.0.0-c202511101430 (prices up to 2025-11-10, inputs prices+calendar): candidate D+1 MAE 10 ≤ active 10.1 €/MWh (tolerance 2 %) on the last 14 days', 'es')).toBe('la nueva calibración no es peor que la activa en los últimos días');
    expect(shown('promoted 2.0.0-c202511101430 (prices up to 2025-11-10, inputs prices+calendar): no active model to compare with on the last 14 days; candidate D+1 MAE 10 €/MWh', 'en')).toBe('first calibration in use');
    expect(shown('recalibration skipped: cannot calibrate on prices up to 2018-01-19: too little history (needs 21+ days of prices: 14 days to fit, each with the week before it)', 'es')).toBe('poco historial de precios (hacen falta 21 días o más)');
  });
});
