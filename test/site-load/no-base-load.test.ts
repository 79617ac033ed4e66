import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { writeMeterQuarterHours, type MeterQuarterHour } from '../../gateway/meters/quarter-hours.js';
import { localDayRange } from '../../gateway/time/tz.js';
import { createSiteLoad } from '../../plugins/site-load/index.js';
import { pluginContext, testConfig, type TestContext } from '../helpers/context.js';

// The demo's page showed the site-load plugin as "unclassified error" with "no site meter data" while the site meter
// already had days of quarter-hours: the message must say how many days it has and needs, and the page must know
// the code.
const QH = 900_000;
let ctx: TestContext | undefined;
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

describe('site-load: no base load yet, said truly', () => {
  it('with 3 measured days of 7 needed and no profile: degraded, no_base_load, and the message counts the days', async () => {
    const config = testConfig('http://127.0.0.1:9', { energy: { meters: [{ name: 'site-main', role: 'site', profile: 'eastron-sdm630', host: '127.0.0.1', port: 1502 }], siteLoad: { minDays: 7 } } });
    const now = localDayRange('2025-06-16').start + 15 * 3_600_000;
    ctx = await pluginContext(config, new Date(now).toISOString());
    const plugin = createSiteLoad(ctx);
    await plugin.start();
    const rows: MeterQuarterHour[] = [];
    for (let d = localDayRange('2025-06-13').start; d < localDayRange('2025-06-16').start; d += 86_400_000) {
      for (let t = d; t < d + 86_400_000; t += QH) rows.push({ meter: 'site-main', role: 'site', start: t, end: t + QH, kwh: 20, avgKw: 80, period: 6, quality: 'measured' });
    }
    await writeMeterQuarterHours(ctx.store, rows);
    await plugin.jobs!.recalibration!();
    const h = plugin.health();
    expect(h.state).toBe('degraded');
    expect(h.code).toBe('no_base_load');
    expect(h.message).toBe('base load none: site meter site-main has 3 measured days of the 7 needed to learn the base load, and no energy.siteLoad.profile is configured for the meantime: 0 kW');
    expect(h.message).not.toMatch(/no site meter data/);
  });

  it('the status page names the code in Spanish and English (not "unclassified error")', () => {
    const win = {} as { CHOCO_I18N?: { REASONS: Record<string, { es: string; en: string }> } };
    new Function('window', readFileSync(new URL('../../gateway/http/status-page/i18n.js', import.meta.url), 'utf8'))(win);
    const r = win.CHOCO_I18N!.REASONS.no_base_load;
    expect(r?.es).toMatch(/^sin carga base aún/);
    expect(r?.en).toMatch(/^no base load yet/);
  });
});
