/* choco-edge status page: the contract panel — the quarter-hour guard (maxímetro), the base-load forecast and the
   contracted-power advice (GET /api/energy/guard, /api/energy/base-load, /api/energy/advice). Plain JavaScript. */
(() => {
  'use strict';
  const TEXT = {
    es: {
      title: 'Contrato: maxímetro, carga base y potencia aconsejada', guard: 'Maxímetro (cuarto de hora en curso)', projected: 'media prevista', limit: 'límite', period: 'periodo',
      off: 'vigilancia apagada (energy.powerGuard)', guardDisabled: 'vigilancia apagada en la configuración', guardWaiting: 'sin límite calculado todavía', deferred: 'Acción', none: 'nada aplazado', base: 'Carga base (previsión)', learned: 'aprendida del contador', profile: 'perfil configurado', nothing: 'sin datos ni perfil',
      error: 'error del día anterior', advice: 'Potencia aconsejada', current: 'actual', advised: 'aconsejada', saving: 'ahorro en potencia + excesos', cost: 'coste potencia + excesos', why: 'motivo', noAdvice: 'sin consejo', adviceWarn: 'Atención, no cambie el contrato sin leer estos avisos:',
    },
    en: {
      title: 'Contract: quarter-hour guard, base load and advised power', guard: 'Quarter-hour guard (this quarter-hour)', projected: 'projected average', limit: 'limit', period: 'period',
      off: 'guard off (energy.powerGuard)', guardDisabled: 'guard switched off in the configuration', guardWaiting: 'no limit computed yet', deferred: 'Action', none: 'nothing deferred', base: 'Base load (forecast)', learned: 'learned from the meter', profile: 'configured profile', nothing: 'no data and no profile',
      error: 'day-ahead error', advice: 'Advised contracted power', current: 'current', advised: 'advised', saving: 'saving on power + excess', cost: 'power + excess cost', why: 'why', noAdvice: 'no advice', adviceWarn: 'Caution, do not change the contract before reading these warnings:',
    },
  };
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const lang = () => (TEXT[document.documentElement.lang] ? document.documentElement.lang : 'es');
  const t = (k) => TEXT[lang()][k] ?? k;
  const num = (x, d) => (x === null || x === undefined ? '—' : new Intl.NumberFormat(lang() === 'es' ? 'es-ES' : 'en-GB', { maximumFractionDigits: d, minimumFractionDigits: d }).format(x));
  const eur = (x) => (x === null || x === undefined ? '—' : new Intl.NumberFormat(lang() === 'es' ? 'es-ES' : 'en-GB', { style: 'currency', currency: 'EUR' }).format(x));
  const state = { guard: null, base: null, advice: null, adviceError: null };

  function card(label, value, meta, cls) {
    return `<div class="card ${cls || ''}"><div class="label">${esc(label)}</div><div class="value">${value}</div><div class="meta">${meta}</div></div>`;
  }
  function render() {
    const panel = $('energy-panel');
    if (!panel) return;
    if (!state.guard && !(state.base && state.base.slots.length) && !state.advice) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    $('energy-title').textContent = t('title');
    const cards = [];
    const g = state.guard;
    const lim = g && g.details && g.details.limit;
    if (!g) cards.push(card(t('guard'), '—', t('off')));
    else if (!lim) cards.push(card(t('guard'), '—', `${t(g.state === 'disabled' || /enabled is false/.test(g.message || '') ? 'guardDisabled' : 'guardWaiting')}: <span lang="en" translate="no">${esc(g.message)}</span>`, 'yellow'));
    else {
      const ratio = lim.projectedKw === null ? null : lim.projectedKw / lim.limitKw;
      cards.push(card(t('guard'), lim.projectedKw === null ? '—' : `${num(lim.projectedKw, 0)} kW`, `${t('projected')} · ${t('limit')} P${lim.period}: ${num(lim.limitKw, 0)} kW`, ratio === null ? '' : ratio > 1 ? 'red' : ratio > 0.95 ? 'yellow' : 'green'));
    }
    const b = state.base;
    if (b && b.slots.length) {
      const src = b.model && b.model.details ? b.model.details.source : '';
      const err = b.model && b.model.details && b.model.details.error;
      const how = /learned/.test(src) ? t('learned') : /profile/.test(src) ? t('profile') : t('nothing');
      cards.push(card(t('base'), `${num(b.slots[0].kw, 0)} kW`, `${how}${err ? ` · ${t('error')} ${esc(err.day)}: ${num(err.maeKw, 1)} kW` : ''}`));
    }
    const a = state.advice;
    if (a) {
      // the API's warnings (too few days, periods without readings) go with the advice, which is then never green
      const warnings = a.warnings || [];
      const warn = warnings.length ? `<div class="advice-warnings"><strong>${esc(t('adviceWarn'))}</strong><ul>${warnings.map((w) => `<li><span lang="en" translate="no">${esc(w)}</span></li>`).join('')}</ul></div>` : '';
      cards.push(card(t('advice'), a.advised_kw.map((x) => num(x, 0)).join(' / ') + ' kW', `${t('current')} ${a.current_kw.map((x) => num(x, 0)).join(' / ')} kW · ${t('cost')} ${eur(a.current.total_eur)} → ${eur(a.advised.total_eur)} (${a.months[0]}…${a.months[a.months.length - 1]})${warn}`, warnings.length ? 'yellow' : a.saving_eur > 0 ? 'green' : ''));
    }
    $('energy-cards').innerHTML = cards.join('');
    const actions = (g && g.details && g.details.actions) || [];
    $('energy-detail').innerHTML = actions.length
      ? `<table><thead><tr><th>${t('deferred')}</th><th>${t('why')}</th></tr></thead><tbody>${actions.slice().reverse().map((x) => `<tr><td>${esc(new Date(x.at).toLocaleTimeString(lang() === 'es' ? 'es-ES' : 'en-GB', { timeZone: 'Europe/Madrid', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }))} · <span lang="en" translate="no">${esc(x.what)}</span></td><td><span lang="en" translate="no">${esc(x.reason)}</span></td></tr>`).join('')}</tbody></table>`
      : g ? `<p class="hint">${t('none')}</p>` : '';
  }
  const getJson = async (url) => {
    try {
      const r = await fetch(url);
      return r.ok ? await r.json() : null;
    } catch {
      return null;
    }
  };
  async function load() {
    state.guard = await getJson('/api/energy/guard');
    state.base = await getJson('/api/energy/base-load?hours=1');
    render();
  }
  async function loadAdvice() {
    state.advice = await getJson('/api/energy/advice?months=12');
    render();
  }
  function init() {
    const sel = $('lang');
    if (sel) sel.addEventListener('change', () => setTimeout(render, 0));
    new MutationObserver(render).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
    load();
    loadAdvice();
    setInterval(load, 10_000);
    setInterval(loadAdvice, 600_000);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
