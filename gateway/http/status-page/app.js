/* choco-edge status page: plain JavaScript, no build step, no CDN. Data from /api/status, live through /api/events. */
(() => {
  'use strict';
  const TEXT = {
    es: {
      price: 'Precio ahora', period: 'Periodo', outdoor: 'Exterior', floor: 'Planta', recommendation: 'Recomendación', prices: 'Precios: ayer, hoy y mañana',
      temperature: 'Temperatura (24 h y próximas 48 h)', humidity: 'Humedad', plan: 'Plan de producción', lines: 'Líneas', alerts: 'Alertas', accuracy: 'Precisión de la previsión (MAE €/MWh)',
      health: 'Fuentes, plugins, tareas, modelos y broker', zoom: 'Arrastre para ampliar; doble clic para restablecer.', token: 'token', stale: 'DESACTUALIZADO', source: 'fuente', ago: 'hace',
      published: 'publicado', forecast: 'previsión', band: 'banda 10-90 %', observed: 'observado', quota: 'Lotes por día:', preview: 'Previsualizar', apply: 'Aplicar', saved: 'ahorro frente a turno fijo',
      cost: 'coste', none: 'sin datos', ack: 'Reconocer', acked: 'reconocida', trigger: 'Ejecutar', pause: 'Pausar', resume: 'Reanudar', next: 'próxima', ok: 'ok', live: 'en vivo', offline: 'sin conexión',
      authed: 'acciones habilitadas', readonly: 'solo lectura', refused: 'rechazado', urgency: 'urgencia', line: 'Línea', process: 'Proceso', run: 'Tanda', override: 'Anulación', job: 'Tarea', last: 'Última', state: 'Estado',
    },
    en: {
      price: 'Price now', period: 'Period', outdoor: 'Outdoor', floor: 'Plant floor', recommendation: 'Recommendation', prices: 'Prices: yesterday, today and tomorrow',
      temperature: 'Temperature (24 h and next 48 h)', humidity: 'Humidity', plan: 'Production plan', lines: 'Lines', alerts: 'Alerts', accuracy: 'Forecast accuracy (MAE €/MWh)',
      health: 'Sources, plugins, jobs, models and broker', zoom: 'Drag to zoom; double-click to reset.', token: 'token', stale: 'STALE', source: 'source', ago: 'ago',
      published: 'published', forecast: 'forecast', band: '10-90 % band', observed: 'observed', quota: 'Batches per day:', preview: 'Preview', apply: 'Apply', saved: 'saved against the fixed shift',
      cost: 'cost', none: 'no data', ack: 'Acknowledge', acked: 'acknowledged', trigger: 'Run', pause: 'Pause', resume: 'Resume', next: 'next', ok: 'ok', live: 'live', offline: 'offline',
      authed: 'actions enabled', readonly: 'read-only', refused: 'refused', urgency: 'urgency', line: 'Line', process: 'Process', run: 'Run', override: 'Override', job: 'Job', last: 'Last', state: 'State',
    },
  };
  let lang = localStorage.getItem('choco-lang') || null;
  let status = null;
  const charts = {};
  const $ = (id) => document.getElementById(id);
  const t = (k) => (TEXT[lang] || TEXT.es)[k] || k;
  const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  const token = () => sessionStorage.getItem('choco-token') || '';
  const tz = 'Europe/Madrid';
  const localTime = (iso, withDate) => (iso ? new Date(iso).toLocaleString(lang === 'en' ? 'en-GB' : 'es-ES', { timeZone: tz, hour: '2-digit', minute: '2-digit', ...(withDate ? { day: '2-digit', month: '2-digit' } : {}) }) : '—');
  const age = (s) => (s === null || s === undefined ? '—' : s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : s < 172800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} d`);
  /** Replaces a section only when its content changed, so that a re-render never swallows a click in progress. */
  const setHtml = (id, html) => {
    const el = $(id);
    if (el.dataset.html !== html) {
      el.innerHTML = html;
      el.dataset.html = html;
    }
  };
  const fmt = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? '—' : Number(x).toFixed(d));

  function applyI18n() {
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
    $('lang').value = lang;
  }

  function card(id, label, value, meta, cls) {
    return `<div class="card ${cls || ''}" id="${id}"><div class="label">${esc(label)}</div><div class="value">${value}</div><div class="meta">${meta}</div></div>`;
  }

  function metaOf(source, ageS, stale, reason) {
    return `${t('source')}: ${esc(source || '—')} · ${t('ago')} ${age(ageS)}${stale ? ` <span class="badge stale" title="${esc(reason || '')}">${t('stale')}</span>` : ''}`;
  }

  function renderNow(s) {
    const p = s.price;
    const priceCls = !p || p.total_eur_kwh === null ? 'stale' : p.stale ? 'stale' : p.total_eur_kwh < s.thresholds.green_below ? 'green' : p.total_eur_kwh < s.thresholds.red_above ? 'yellow' : 'red';
    const cards = [
      card('card-price', t('price'), p && p.total_eur_kwh !== null ? `${fmt(p.total_eur_kwh, 4)} <small>€/kWh</small>` : '—', p ? `${fmt(p.energy_eur_kwh, 4)} + ${fmt(p.adder_eur_kwh, 4)} (${esc(p.series)}) · ${metaOf(p.source, p.age_s, p.stale, p.stale_reason)}` : t('none'), priceCls),
      card('card-period', t('period'), p ? esc(p.period) : '—', p ? esc(p.tariff) : '', ''),
    ];
    const o = s.outdoor || {};
    cards.push(card('card-outdoor', t('outdoor'), `${o.temp && o.temp.value !== null ? fmt(o.temp.value, 1) : '—'} °C · ${o.rh && o.rh.value !== null ? fmt(o.rh.value, 0) : '—'} %`, o.temp ? metaOf(o.temp.source, o.temp.age_s, o.temp.stale, o.temp.stale_reason) : t('none'), o.temp && o.temp.stale ? 'stale' : ''));
    const floorT = Object.entries(s.floor || {}).find(([, v]) => v.unit === 'degC');
    const floorH = Object.entries(s.floor || {}).find(([, v]) => v.unit === 'percent');
    if (floorT || floorH) {
      const stale = (floorT && floorT[1].stale) || (floorH && floorH[1].stale);
      const ageS = floorT && floorT[1].at ? (Date.parse(s.now) - Date.parse(floorT[1].at)) / 1000 : null;
      cards.push(card('card-floor', t('floor'), `${floorT ? fmt(floorT[1].value, 1) : '—'} °C · ${floorH ? fmt(floorH[1].value, 0) : '—'} %`, metaOf('modbus', ageS, stale, ''), stale ? 'stale' : ''));
    }
    const r = s.recommendation || {};
    cards.push(r.recommendation
      ? card('card-rec', t('recommendation'), `<span class="rec-${esc(r.recommendation)}">${esc(r.recommendation)}</span>`, `${t('urgency')}: ${esc(r.urgency)} · ${esc(r.priceSource)}/${esc(r.temperatureSource)} · v${esc(r.version)}`, '')
      : card('card-rec', t('recommendation'), '—', `<span class="badge stale">${t('refused')}</span> ${esc(r.error || '')}`, 'stale'));
    setHtml('now', cards.join(''));
  }

  function seriesToXY(points) {
    return [points.map((p) => Date.parse(p.start) / 1000), points.map((p) => p.value)];
  }

  function mergeOnX(sets) {
    const xs = [...new Set(sets.flatMap((s) => s.map((p) => Date.parse(p.start) / 1000)))].sort((a, b) => a - b);
    return [xs, ...sets.map((s) => { const m = new Map(s.map((p) => [Date.parse(p.start) / 1000, p.value])); return xs.map((x) => (m.has(x) ? m.get(x) : null)); })];
  }

  function drawChart(id, data, series, unit) {
    const el = $(id);
    const width = Math.max(280, el.clientWidth || 600);
    const opts = {
      width, height: 240, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), tz),
      scales: { x: { time: true } }, cursor: { drag: { x: true, y: false } },
      axes: [{ stroke: '#b5a79c', grid: { stroke: '#3a2f28' } }, { stroke: '#b5a79c', grid: { stroke: '#3a2f28' }, label: unit }],
      series: [{}, ...series], legend: { show: true },
    };
    if (charts[id]) charts[id].destroy();
    el.innerHTML = '';
    charts[id] = new uPlot(opts, data, el);
  }

  function renderCharts(s) {
    const c = s.charts;
    const band = c.band || [];
    drawChart('chart-prices', mergeOnX([c.prices, c.forecast, band.map((b) => ({ start: b.start, value: b.low })), band.map((b) => ({ start: b.start, value: b.high }))]), [
      { label: t('published'), stroke: '#c07a3e', width: 2 },
      { label: t('forecast'), stroke: '#e0c36a', dash: [6, 4], width: 2 },
      { label: `${t('band')} ↓`, stroke: 'rgba(224,195,106,.5)', width: 1 },
      { label: `${t('band')} ↑`, stroke: 'rgba(224,195,106,.5)', width: 1 },
    ], '€/MWh');
    drawChart('chart-temp', mergeOnX([c.temp_observed, c.temp_forecast]), [{ label: t('observed'), stroke: '#d24a3c', width: 2 }, { label: t('forecast'), stroke: '#f08d7e', dash: [6, 4] }], '°C');
    drawChart('chart-rh', mergeOnX([c.rh_observed, c.rh_forecast]), [{ label: t('observed'), stroke: '#4f9bd0', width: 2 }, { label: t('forecast'), stroke: '#9cc7e6', dash: [6, 4] }], '%');
    setHtml('accuracy', (c.accuracy.length
      ? `<table><tr><th></th><th>7 d</th><th>30 d</th></tr>${c.accuracy.map((a) => `<tr><td>${esc(a.band)}</td><td>${fmt(a.days7.mae)} (${a.days7.n})</td><td>${fmt(a.days30.mae)} (${a.days30.n})</td></tr>`).join('')}</table>`
      : t('none')) + (c.recalibration ? `<p class="recalibration" title="${esc(c.recalibration.summary)}">${esc(c.recalibration.status)}${c.recalibration.at ? ` · ${esc(c.recalibration.at.slice(0, 16).replace('T', ' '))} UTC` : ''}: ${esc(c.recalibration.summary)}</p>` : ''));
  }

  function renderPlan(s) {
    const plan = s.plan;
    if (!plan) { $('plan').textContent = t('none'); return; }
    const start = Date.parse(plan.horizon.start);
    const end = Date.parse(plan.horizon.end);
    const span = end - start;
    const pct = (x) => `${Math.max(0, Math.min(100, ((x - start) / span) * 100))}%`;
    const processes = [...new Set(plan.runs.map((r) => r.process))];
    const nowX = pct(Date.parse(s.now));
    const rows = processes.map((p) => `<div class="tl-row"><span>${esc(p)}</span><div class="tl-track">${plan.runs.filter((r) => r.process === p).map((r) => { const a = Date.parse(r.start); const b = Date.parse(r.end); return `<div class="tl-run" data-left="${pct(a)}" data-width="calc(${pct(b)} - ${pct(a)})" title="${esc(p)} #${r.batch} ${localTime(r.start, true)}–${localTime(r.end)} · ${fmt(r.cost_eur)} €">#${r.batch}</div>`; }).join('')}<div class="tl-now" data-left="${nowX}"></div></div></div>`).join('');
    const saved = plan.totals.saved_eur === null ? '' : ` · ${t('saved')}: <b id="plan-saved">${fmt(plan.totals.saved_eur)} €</b>`;
    setHtml('plan', `<div class="timeline">${rows}</div><p>${localTime(plan.horizon.start, true)} → ${localTime(plan.horizon.end, true)} · ${esc(plan.method)} · ${t('cost')}: <b id="plan-cost">${fmt(plan.totals.cost_eur)} €</b>${saved} · ${fmt(plan.totals.kwh, 0)} kWh${plan.infeasible.length ? ` · <span class="badge stale">${esc(plan.infeasible.join('; '))}</span>` : ''}</p>`);
    // Positions go through the CSSOM: the Content-Security-Policy refuses inline style attributes.
    for (const el of $('plan').querySelectorAll('[data-left]')) {
      el.style.left = el.dataset.left;
      if (el.dataset.width) el.style.width = el.dataset.width;
    }
    const fields = $('quota-fields');
    if (!fields.dataset.ready) {
      fields.innerHTML = processes.map((p) => `<label>${esc(p)} <input type="number" min="0" max="24" size="2" name="${esc(p)}" value="${plan.runs.filter((r) => r.process === p).length}"></label>`).join(' ');
      fields.dataset.ready = '1';
    }
  }

  function renderLines(s) {
    setHtml('lines', s.lines.length
      ? `<table><tr><th>${t('line')}</th><th>${t('process')}</th><th>${t('run')}</th><th>ack</th><th>${t('override')}</th></tr>${s.lines.map((l) => `<tr><td>${esc(l.line)}</td><td>${esc(l.process)}</td><td>${l.command ? `#${l.command.batch} ${localTime(l.command.start, true)}–${localTime(l.command.end)}` : '—'}</td><td>${l.ack ? `${esc(l.ack.plan_id)} ${localTime(l.ack.at)}` : '—'}</td><td>${l.override ? `${esc(l.override.command)} → ${localTime(l.override.until, true)}` : '—'}</td></tr>`).join('')}</table>`
      : t('none'));
  }

  function renderAlerts(s) {
    setHtml('alerts', s.alerts.length
      ? `<table>${s.alerts.map((a) => `<tr><td><span class="badge level-${esc(a.level)}">${esc(a.level)}</span></td><td>${localTime(a.at, true)}</td><td><b>${esc(a.code)}</b> ${esc(a.message)}</td><td>${a.ackedAt ? t('acked') : `<button class="auth-only" data-ack="${a.id}">${t('ack')}</button>`}</td></tr>`).join('')}</table>`
      : t('none'));
  }

  function renderHealth(s) {
    const h = s.health;
    const plugins = Object.entries(h.plugins).map(([n, p]) => `<tr><td>${esc(n)}</td><td class="state-${esc(p.state)}">${esc(p.state)}</td><td>${esc(p.message)}</td></tr>`).join('');
    const jobs = h.jobs.map((j) => `<tr><td>${esc(j.id)}</td><td>${j.lastRun ? `${esc(j.lastRun.outcome)} ${localTime(j.lastRun.at, true)} (${j.lastRun.durationMs} ms)` : '—'}</td><td>${j.paused ? 'paused' : localTime(j.nextRun, true)}</td><td><button class="auth-only" data-job="${esc(j.id)}" data-action="trigger">${t('trigger')}</button> <button class="auth-only" data-job="${esc(j.id)}" data-action="${j.paused ? 'resume' : 'pause'}">${t(j.paused ? 'resume' : 'pause')}</button></td></tr>`).join('');
    const stale = h.series.filter((x) => x.stale).map((x) => `<span class="badge stale">${esc(x.id)}</span>`).join(' ');
    setHtml('health', `<p>broker: ${h.broker.connected ? '<span class="badge ok">ok</span>' : '<span class="badge stale">down</span>'} · clients ${h.broker.clients ?? '—'} · models: ${h.models.map((m) => `${esc(m.name)}@${esc(m.version)} (${esc(m.backend)}, ${m.inferences})`).join(', ') || '—'} ${stale}</p>
      <table><tr><th>plugin</th><th>${t('state')}</th><th></th></tr>${plugins}</table><table><tr><th>${t('job')}</th><th>${t('last')}</th><th>${t('next')}</th><th></th></tr>${jobs}</table>`);
  }

  function render() {
    if (!status) return;
    lang ||= status.language;
    applyI18n();
    $('site').textContent = status.site.name;
    $('clock').textContent = localTime(status.now, true);
    $('version').textContent = `v${status.version}`;
    renderNow(status);
    renderCharts(status);
    renderPlan(status);
    renderLines(status);
    renderAlerts(status);
    renderHealth(status);
    document.body.classList.toggle('authed', Boolean(token()));
    $('auth').textContent = token() ? t('authed') : t('readonly');
    $('live').textContent = $('live').classList.contains('ok') ? t('live') : $('live').classList.contains('stale') ? t('offline') : '…';
  }

  async function load() {
    const res = await fetch('/api/status');
    status = await res.json();
    render();
    document.body.dataset.loaded = String(Date.now());
  }

  async function act(method, path, body) {
    const res = await fetch(path, { method, headers: { authorization: `Bearer ${token()}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.message || `HTTP ${res.status}`);
    return data;
  }

  const quota = () => Object.fromEntries([...document.querySelectorAll('#quota-fields input')].map((i) => [i.name, Number(i.value)]));

  document.addEventListener('click', async (e) => {
    const el = e.target;
    try {
      if (el.dataset.job) { await act('POST', `/scheduler/jobs/${encodeURIComponent(el.dataset.job)}/${el.dataset.action}`); await load(); }
      else if (el.dataset.ack) { await act('POST', `/api/alerts/${el.dataset.ack}/ack`); await load(); }
      else if (el.id === 'preview') { const p = await act('POST', '/api/plan/preview', { quota: quota() }); $('preview-result').textContent = `${t('cost')} ${fmt(p.totals.cost_eur)} € · ${t('saved')} ${fmt(p.totals.saved_eur)} €${p.infeasible.length ? ` · ${p.infeasible.join('; ')}` : ''}`; }
      else if (el.id === 'apply') { await act('POST', '/api/plan/apply', { quota: quota() }); $('preview-result').textContent = '✓'; await load(); }
    } catch (error) {
      $('preview-result').textContent = `${t('refused')}: ${error.message}`;
      document.body.dataset.lastError = error.message;
    }
  });
  $('lang').addEventListener('change', () => { lang = $('lang').value; localStorage.setItem('choco-lang', lang); render(); });
  $('token').addEventListener('change', () => { sessionStorage.setItem('choco-token', $('token').value); render(); });
  $('token').value = token();

  let pending;
  const events = new EventSource('/api/events');
  events.addEventListener('update', () => { clearTimeout(pending); pending = setTimeout(load, 250); });
  events.onopen = () => { $('live').textContent = t('live'); $('live').className = 'badge ok'; };
  events.onerror = () => { $('live').textContent = t('offline'); $('live').className = 'badge stale'; };
  setInterval(load, 60_000);
  window.addEventListener('resize', () => { clearTimeout(pending); pending = setTimeout(render, 200); });
  load();
})();
