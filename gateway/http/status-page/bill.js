/* choco-edge status page: the measured bill and measured savings (GET /api/bill). Plain JavaScript, no build step. */
(() => {
  'use strict';
  const TEXT = {
    es: {
      title: 'Factura medida y ahorro medido', today: 'Hoy hasta ahora', month: 'Mes hasta hoy', projected: 'previsión a fin de mes', power: 'Potencia ahora', contracted: 'contratada', period: 'periodo',
      saved: 'Ahorro medido', lastDay: 'último día cerrado', notMeasured: 'no medido', days: 'días medidos', daysNot: 'sin medir', measured: 'medido', partial: 'parcial', of: 'de',
      energy: 'Energía', powerTerm: 'Potencia', excess: 'Excesos', tax: 'Impuesto eléctrico', vat: 'IVA', total: 'Total', kwh: 'kWh', above: 'cuartos de hora por encima', maximetro: 'excesos por maxímetro: 2 × (Pmáx − Pc) × tep × días / 30', pmax: 'Pmáx', estAbove: 'estimados por encima, no facturados', report: 'Informe mensual imprimible', csv: 'CSV diario', savingsCsv: 'CSV de ahorro',
      method: 'método', meter: 'contador', noData: 'sin datos aún', tariff: 'peaje', weeks: 'Semanas', months: 'Meses', day: 'Día', week: 'Semana', monthCol: 'Mes', status: 'estado', lines: 'Líneas (energía a precios del sitio)',
      apportioned: 'repartido del contador general según el plan', simulated: 'contador SIMULADO (demo)', submeter: 'IPMVP opción B (subcontador de línea)', none: 'sin tandas',
    },
    en: {
      title: 'Measured bill and measured savings', today: 'Today so far', month: 'Month to date', projected: 'projected to month end', power: 'Power now', contracted: 'contracted', period: 'period',
      saved: 'Measured savings', lastDay: 'last closed day', notMeasured: 'not measured', days: 'measured days', daysNot: 'not measured', measured: 'measured', partial: 'partial', of: 'of',
      energy: 'Energy', powerTerm: 'Power', excess: 'Excess power', tax: 'Electricity tax', vat: 'VAT', total: 'Total', kwh: 'kWh', above: 'quarter-hours above', maximetro: 'excess by maxímetro: 2 × (Pmax − Pc) × tep × days / 30', pmax: 'Pmax', estAbove: 'estimated above, not billed', report: 'Printable monthly report', csv: 'Daily CSV', savingsCsv: 'Savings CSV',
      method: 'method', meter: 'meter', noData: 'no data yet', tariff: 'tariff', weeks: 'Weeks', months: 'Months', day: 'Day', week: 'Week', monthCol: 'Month', status: 'status', lines: 'Lines (energy at the site prices)',
      apportioned: 'apportioned from the site meter by the plan', simulated: 'SIMULATED meter (demo)', submeter: 'IPMVP Option B (line submeter)', none: 'no runs',
    },
  };
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const lang = () => (TEXT[document.documentElement.lang] ? document.documentElement.lang : 'es');
  const t = (k) => TEXT[lang()][k] ?? k;
  const eur = (x) => (x === null || x === undefined ? '—' : new Intl.NumberFormat(lang() === 'es' ? 'es-ES' : 'en-GB', { style: 'currency', currency: 'EUR' }).format(x));
  const num = (x, d) => (x === null || x === undefined ? '—' : new Intl.NumberFormat(lang() === 'es' ? 'es-ES' : 'en-GB', { maximumFractionDigits: d, minimumFractionDigits: d }).format(x));
  /** The reasons a day is not measured (English in the store and API), in Spanish (test/bill/page-reasons.test.ts). */
  const REASONS = [
    { re: /^the site meter has no measurement for (\S+)( \(run (\S+) #(\d+)\))?$/, es: (m) => `el contador general no tiene medida para ${m[1]}${m[2] ? ` (tanda ${m[3]} n.º ${m[4]})` : ''}` },
    { re: /^the (\S+) submeter has no measurement for (\S+) \(run (\S+) #(\d+)\)$/, es: (m) => `el subcontador de ${m[1]} no tiene medida para ${m[2]} (tanda ${m[3]} n.º ${m[4]})` },
    { re: /^no market price for (\S+)$/, es: (m) => `sin precio de mercado para ${m[1]}` },
  ];
  window.CHOCO_BILL_REASONS = REASONS;
  /** The UTC times in a stored reason (2018-01-07T23:00:00Z) shown in plant time, as every other time on the page. */
  const localTimes = (text, language) =>
    String(text ?? '').replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z\b/g, (iso) =>
      new Intl.DateTimeFormat(language === 'es' ? 'es-ES' : 'en-GB', { timeZone: 'Europe/Madrid', year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso)),
    );
  window.CHOCO_BILL_LOCAL_TIMES = localTimes;
  const reasonText = (r) => {
    if (lang() === 'en' || !r) return esc(localTimes(r, 'en'));
    const known = REASONS.find((x) => x.re.test(r));
    return known ? esc(localTimes(known.es(known.re.exec(r)), 'es')) : `<span lang="en" translate="no">${esc(localTimes(r, 'en'))}</span>`;
  };
  const methodText = (m) => (/Option B/.test(m) && /apportioned/.test(m) ? `${t('submeter')} + ${t('apportioned')}` : /Option B/.test(m) ? t('submeter') : /apportioned/.test(m) ? t('apportioned') : t('none'));
  let last = null;

  function card(label, value, meta, cls) {
    return `<div class="card ${cls || ''}"><div class="label">${esc(label)}</div><div class="value">${value}</div><div class="meta">${meta}</div></div>`;
  }
  function coverage(b) {
    const c = b.coverage;
    return `${b.measured === 'measured' ? t('measured') : `<b>${t('partial')}</b>`}: ${c.measured + c.interpolated} ${t('of')} ${c.expected} ¼h`;
  }
  function render() {
    const panel = $('bill-panel');
    if (!panel) return;
    const b = last;
    if (!b) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    $('bill-title').textContent = t('title');
    const sim = b.provenance && b.provenance !== 'measured';
    if (sim) $('bill-title').insertAdjacentHTML('beforeend', ` <span class="badge stale" lang="en" title="${esc(b.provenance)}">${t('simulated')}</span>`);
    const cards = [];
    cards.push(b.today ? card(t('today'), eur(b.today.terms.total_eur), `${num(b.today.terms.energy_kwh, 1)} kWh · ${coverage(b.today)}`) : card(t('today'), '—', t('noData')));
    cards.push(b.month ? card(t('month'), eur(b.month.terms.total_eur), `${coverage(b.month)}${b.month.projected ? ` · ${t('projected')}: ${eur(b.month.projected.total_eur)}` : ''}`) : card(t('month'), '—', t('noData')));
    const p = b.power_now;
    cards.push(p && p.kw !== null ? card(t('power'), `${num(p.kw, 1)} kW`, `${t('contracted')} P${p.period}: ${num(p.contracted_kw, 0)} kW (${num(p.ratio * 100, 0)} %)`, p.ratio > 1 ? 'red' : p.ratio > 0.9 ? 'yellow' : 'green') : card(t('power'), '—', t('noData')));
    const s = b.savings;
    const lastDay = s.days.length ? s.days[s.days.length - 1] : null;
    const monthTotal = s.months.length ? s.months[s.months.length - 1] : null;
    cards.push(card(t('saved'), monthTotal && monthTotal.measured_days ? eur(monthTotal.saved_eur) : '—', monthTotal ? `${esc(monthTotal.month)}: ${t('days')} ${monthTotal.measured_days}, ${t('daysNot')} ${monthTotal.not_measured_days}${lastDay ? ` · ${t('lastDay')} ${esc(lastDay.date)}: ${lastDay.status === 'measured' ? eur(lastDay.saved_eur) : t('notMeasured')}` : ''}` : t('noData')));
    $('bill-cards').innerHTML = cards.join('');
    const m = b.month;
    let html = '';
    if (m) {
      html += `<table><thead><tr><th>P</th><th>${t('kwh')}</th><th>${t('energy')}</th><th>${t('powerTerm')} (${t('contracted')} kW)</th><th>${t('excess')} (${m.excess_metering === 'maximetro' ? t('pmax') : t('above')})</th></tr></thead><tbody>`;
      html += m.periods.map((x) => `<tr><td>P${x.period}</td><td>${num(x.energy_kwh, 1)}</td><td>${eur(x.energy_eur)}</td><td>${eur(x.power_eur)} (${x.contracted_kw ?? '—'})</td><td>${eur(x.excess_eur)} (${m.excess_metering === 'maximetro' ? (x.max_kw === null ? '—' : `${t('pmax')} ${num(x.max_kw, 1)} kW ${esc((x.max_at_local || '').slice(5, 16).replace('T', ' '))}`) : x.quarter_hours_above ?? '—'}${x.estimated_above ? ` · ${x.estimated_above} ${t('estAbove')}` : ''})</td></tr>`).join('');
      html += `<tr><th>${t('total')}</th><td>${num(m.terms.energy_kwh, 1)}</td><td>${eur(m.terms.energy_eur)}</td><td>${eur(m.terms.power_eur)}</td><td>${eur(m.terms.excess_eur)}</td></tr></tbody></table>`;
      html += `<p class="hint">${t('tax')} ${eur(m.terms.tax_eur)} · ${t('vat')} ${eur(m.terms.vat_eur)} · ${t('total')} ${eur(m.terms.total_eur)} · ${t('tariff')} ${esc(b.tariff)}${m.excess_metering === 'maximetro' ? ` · ${t('maximetro')}` : ''} · ${t('meter')} ${esc(b.meter)}${sim ? ` (${t('simulated')}: <span lang="en" translate="no">${esc(b.provenance)}</span>)` : ''}</p>`;
      const month = m.from_local.slice(0, 7);
      const first = `${month}-01`;
      const to = new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 1)).toISOString().slice(0, 10);
      html += `<p class="hint"><a href="/api/bill/month/${esc(month)}/report?lang=${lang()}">${t('report')}</a> · <a href="/api/bill/days.csv?from=${first}&amp;to=${to}">${t('csv')}</a> · <a href="/api/savings/days.csv?from=${first}&amp;to=${to}">${t('savingsCsv')}</a></p>`;
    }
    if (b.lines.length) html += `<p class="hint">${t('lines')}: ${b.lines.map((l) => `${esc(l.line)} ${num(l.terms.energy_kwh, 1)} kWh ${eur(l.terms.energy_eur)}`).join(' · ')}</p>`;
    if (s.days.length) {
      html += `<table><thead><tr><th>${t('day')}</th><th>${t('status')}</th><th>${t('saved')}</th><th>${t('method')}</th></tr></thead><tbody>`;
      html += s.days.slice(-7).reverse().map((d) => `<tr><td>${esc(d.date)}</td><td>${d.status === 'measured' ? t('measured') : t('notMeasured')}</td><td>${d.status === 'measured' ? eur(d.saved_eur) : '—'}</td><td>${d.status === 'measured' ? esc(methodText(d.method)) : reasonText(d.reason)}</td></tr>`).join('');
      html += '</tbody></table>';
      html += `<p class="hint">${t('weeks')}: ${s.weeks.slice(-4).map((w) => `${esc(w.week)} ${eur(w.saved_eur)} (${w.measured_days}/${w.measured_days + w.not_measured_days})`).join(' · ')}</p>`;
    }
    $('bill-detail').innerHTML = html;
    // the page's CSP allows no style attribute in markup; the CSSOM is allowed
    for (const a of $('bill-detail').querySelectorAll('a')) a.style.color = 'var(--accent)';
  }
  async function load() {
    try {
      const r = await fetch('/api/bill');
      last = r.ok ? await r.json() : null;
    } catch {
      last = null;
    }
    render();
  }
  function init() {
    const sel = $('lang');
    if (sel) sel.addEventListener('change', () => setTimeout(render, 0));
    new MutationObserver(render).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
    load();
    setInterval(load, 20_000);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
