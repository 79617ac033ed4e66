/* choco-edge status page: plain JavaScript, no build step, no CDN. Data from /api/status, live through /api/events. */
(() => {
  'use strict';
  const { LOCALE, TEXT, VALUES, CODES, MESSAGES, RECALIBRATION_REASONS, REASONS } = window.CHOCO_I18N;
  const urlLang = new URLSearchParams(location.search).get('lang');
  let lang = TEXT[urlLang] ? urlLang : TEXT[localStorage.getItem('choco-lang')] ? localStorage.getItem('choco-lang') : null;
  let status = null;
  let loadedAt = 0;
  let alertsShown = 5;
  const charts = {};
  window.chocoCharts = charts;
  const $ = (id) => document.getElementById(id);
  const t = (k) => (TEXT[lang] || TEXT.es)[k] ?? k;
  /** A code the gateway sends (recommendation, urgency, state…) in the page's language; unknown codes as they are. */
  const v = (kind, value) => (VALUES[kind] && VALUES[kind][value] ? VALUES[kind][value][lang] : value);
  const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  /** An identifier (series, plugin, job, source): never translated, and marked so. */
  const id = (s) => `<span translate="no">${esc(s)}</span>`;
  const token = () => sessionStorage.getItem('choco-token') || '';
  const tz = 'Europe/Madrid';
  const locale = () => LOCALE[lang] || LOCALE.es;
  const dateFormat = (opts) => new Intl.DateTimeFormat(locale(), { timeZone: tz, hourCycle: 'h23', ...opts });
  /** Plant time in the page's language: es-ES 8/1/2018, 10:05; en-GB 08/01/2018, 10:05 (24-hour clock in both). */
  const localTime = (iso, withDate) => {
    if (iso === null || iso === undefined) return '—';
    const ms = typeof iso === 'number' ? iso : Date.parse(iso);
    if (!Number.isFinite(ms)) return esc(iso);
    return dateFormat({ hour: '2-digit', minute: '2-digit', ...(withDate ? { day: 'numeric', month: 'numeric', year: 'numeric' } : {}) }).format(ms);
  };
  /** "hace 21 h" / "21 hr ago"; an age below zero (a clock ahead of the data) reads as now. */
  const age = (s) => {
    if (s === null || s === undefined || Number.isNaN(s)) return '—';
    const rtf = new Intl.RelativeTimeFormat(locale(), { style: 'short', numeric: 'auto' });
    const x = Math.max(0, s);
    return x < 90 ? rtf.format(-Math.round(x), 'second') : x < 5400 ? rtf.format(-Math.round(x / 60), 'minute') : x < 172800 ? rtf.format(-Math.round(x / 3600), 'hour') : rtf.format(-Math.round(x / 86400), 'day');
  };
  /** Replaces a section only when its content changed, so that a re-render never swallows a click in progress. */
  const setHtml = (elId, html) => {
    const el = $(elId);
    if (el.dataset.html !== html) {
      el.innerHTML = html;
      el.dataset.html = html;
    }
  };
  /** A number with `d` decimals in the page's language (decimal comma in Spanish). */
  const fmt = (x, d = 2) => (x === null || x === undefined || x === '' || Number.isNaN(Number(x)) ? '—' : new Intl.NumberFormat(locale(), { minimumFractionDigits: d, maximumFractionDigits: d }).format(Number(x)));
  /** A gateway message in the page's language; null when the message is not one the page knows. */
  const message = (code, text) => {
    const f = { date: (iso) => localTime(iso, true), num: fmt, v, t };
    for (const m of MESSAGES) {
      const hit = m.re.exec(text);
      if (hit) return esc(m[lang](hit, f));
    }
    return null;
  };
  /** What an alert kind means in the page's language. */
  const codeText = (code) => esc(CODES[code] ? CODES[code][lang] : code);

  function applyI18n() {
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
    for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
    $('lang').value = lang;
  }

  function card(cardId, label, value, meta, cls) {
    return `<div class="card ${cls || ''}" id="${cardId}"><div class="label">${esc(label)}</div><div class="value">${value}</div><div class="meta">${meta}</div></div>`;
  }

  function metaOf(source, ageS, stale, reason) {
    return `${t('source')}: ${id(source || '—')} · ${age(ageS)}${stale ? ` <span class="badge stale" title="${esc(reason || '')}">${t('stale')}</span>` : ''}`;
  }

  function renderReplay(s) {
    const r = s.replay;
    const day = (x) => dateFormat({ day: 'numeric', month: 'numeric', year: 'numeric' }).format(typeof x === 'number' ? x : Date.parse(x));
    $('replay').hidden = !r;
    if (!r) return;
    const speed = r.speed ? ` · ${t('speed')} ×${fmt(r.speed, 0)}` : '';
    setHtml('replay', `▶ ${t('replay')} (${day(r.data_from)} → ${day(Date.parse(r.data_to) - 1)}) · ${t('simulated')}: <b>${localTime(r.simulated_time, true)}</b>${speed}${r.state === 'ended' ? ` · ${t('replayEnded')}` : ''}`);
  }

  /** The write-nothing mode (outputs.dryRun, or lines[].dryRun for some lines): while it is on, a banner says what is not sent. */
  function renderDryRun(s) {
    const o = s.outputs;
    const some = o && !o.dry_run && o.lines && o.lines.length;
    $('dryrun').hidden = !(o && (o.dry_run || some));
    if (!o || !(o.dry_run || some)) return;
    // What each output would have written, folded: the Modbus registers with their values, the MQTT line commands.
    const rows = (o.would_write || []).map((w) => {
      const values = w.via === 'modbus' ? Object.entries(w.values).map(([k, x]) => `${k.split(' ')[0]}=${x}`).join(' ') : '';
      return `<li><span translate="no">${esc(w.via)} · ${esc(w.target)}: ${esc(w.what)}${values ? ` · ${esc(values)}` : ''}</span></li>`;
    }).join('');
    const head = some ? `${esc(t('dryRunLines'))}: ${o.lines.map(id).join(', ')}` : `${esc(t('dryRun'))} · ${t('dryRunSince')} ${localTime(o.since, true)} · ${t('dryRunBy')} ${id(o.by)}`;
    setHtml('dryrun', `${head} · ${t('dryRunHeld')}: ${fmt(o.held_back, 0)}`
      + (rows ? `<details class="would-write"><summary>${t('dryRunShow')}</summary><ul>${rows}</ul></details>` : ''));
  }

  function renderNow(s) {
    const p = s.price;
    const priceCls = !p || p.total_eur_kwh === null ? 'stale' : p.stale ? 'stale' : p.total_eur_kwh < s.thresholds.green_below ? 'green' : p.total_eur_kwh < s.thresholds.red_above ? 'yellow' : 'red';
    const cards = [
      card('card-price', t('price'), p && p.total_eur_kwh !== null ? `${fmt(p.total_eur_kwh, 4)} <small>€/kWh</small>` : '—', p ? `${fmt(p.energy_eur_kwh, 4)} + ${fmt(p.adder_eur_kwh, 4)} (${id(p.series)}) · ${metaOf(p.source, p.age_s, p.stale, p.stale_reason)}` : t('none'), priceCls),
      card('card-period', t('period'), p ? id(p.period) : '—', p ? id(p.tariff) : '', ''),
    ];
    const o = s.outdoor || {};
    cards.push(card('card-outdoor', t('outdoor'), `${o.temp && o.temp.value !== null ? fmt(o.temp.value, 1) : '—'} °C · ${o.rh && o.rh.value !== null ? fmt(o.rh.value, 0) : '—'} %`, o.temp ? metaOf(o.temp.source, o.temp.age_s, o.temp.stale, o.temp.stale_reason) : t('none'), o.temp && o.temp.stale ? 'stale' : ''));
    const floorT = Object.entries(s.floor || {}).find(([, x]) => x.unit === 'degC');
    const floorH = Object.entries(s.floor || {}).find(([, x]) => x.unit === 'percent');
    if (floorT || floorH) {
      const stale = (floorT && floorT[1].stale) || (floorH && floorH[1].stale);
      const ageS = floorT && floorT[1].at ? (Date.parse(s.now) - Date.parse(floorT[1].at)) / 1000 : null;
      cards.push(card('card-floor', t('floor'), `${floorT ? fmt(floorT[1].value, 1) : '—'}&nbsp;°C · ${floorH ? fmt(floorH[1].value, 0) : '—'}&nbsp;%`, metaOf(floorT && floorT[1].protocol === 'opcua' ? 'OPC UA' : 'modbus', ageS, stale, ''), stale ? 'stale' : ''));
    }
    // One recommendation, the plan's for this hour; the production-recommender's class only as a labelled input.
    const r = s.recommendation || {};
    const m = s.model_recommendation || {};
    const model = `<span id="rec-model">${t('modelInput')}: ${m.recommendation ? `${esc(v('recommendation', m.recommendation))} (${id(`v${m.version}`)})` : '—'}</span>`;
    cards.push(r.recommendation
      ? card('card-rec', t('recommendation'), `<span class="rec-${esc(r.recommendation)}">${esc(v('recommendation', r.recommendation))}</span>`, `${t('urgency')}: ${esc(v('urgency', r.urgency))} · ${t('fromPlan')}${r.running && r.running.length ? ` · ${t('runningNow')}: ${r.running.map(id).join(', ')}` : ''}<br>${model}`, '')
      : card('card-rec', t('recommendation'), '—', `<span class="badge stale">${t('refused')}</span> <span title="${esc(r.error || '')}">${t('none')}</span><br>${model}`, 'stale'));
    setHtml('now', cards.join(''));
  }

  function seriesToXY(points) {
    return [points.map((p) => Date.parse(p.start) / 1000), points.map((p) => p.value)];
  }

  function mergeOnX(sets) {
    const xs = [...new Set(sets.flatMap((x) => x.map((p) => Date.parse(p.start) / 1000)))].sort((a, b) => a - b);
    return [xs, ...sets.map((x) => { const m = new Map(x.map((p) => [Date.parse(p.start) / 1000, p.value])); return xs.map((k) => (m.has(k) ? m.get(k) : null)); })];
  }

  /** Time axis ticks in plant time and the page's language: 24-hour "HH:mm", the date (d/m) at midnight and for day steps. */
  function timeTicks(u, splits, axisIdx, space, incr) {
    const day = dateFormat({ day: 'numeric', month: 'numeric' });
    const hm = dateFormat({ hour: '2-digit', minute: '2-digit' });
    return splits.map((x) => {
      const ms = x * 1000;
      return incr >= 86400 || hm.format(ms) === '00:00' ? day.format(ms) : hm.format(ms);
    });
  }

  function drawChart(chartId, data, series, unit) {
    const el = $(chartId);
    const width = Math.max(280, el.clientWidth || 600);
    const nf = new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 });
    const axisStyle = { stroke: '#b5a79c', grid: { stroke: '#3a2f28' }, ticks: { stroke: '#3a2f28' } };
    const opts = {
      width, height: 240, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), tz),
      scales: { x: { time: true } }, cursor: { drag: { x: true, y: false } },
      axes: [{ ...axisStyle, values: timeTicks }, { ...axisStyle, label: unit, values: (u, splits) => splits.map((x) => nf.format(x)) }],
      series: [{ label: t('time'), value: (u, x) => (x === null || x === undefined ? '—' : localTime(x * 1000, true)) }, ...series.map((x) => ({ ...x, value: (u, y) => (y === null || y === undefined ? '—' : fmt(y, 1)) }))],
      legend: { show: true },
    };
    if (charts[chartId]) charts[chartId].destroy();
    el.innerHTML = '';
    charts[chartId] = new uPlot(opts, data, el);
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
      ? `<table><tr><th></th><th>7 d</th><th>30 d</th></tr>${c.accuracy.map((a) => `<tr><td>${id(a.band)}</td><td>${fmt(a.days7.mae)} (${a.days7.n})</td><td>${fmt(a.days30.mae)} (${a.days30.n})</td></tr>`).join('')}</table>`
      : t('none')) + (c.recalibration ? recalibrationHtml(c.recalibration) : ''));
  }

  /** Plant-time ticks over [start, end): every `step` hours on the local clock, the date at midnight. */
  function planTicks(start, end, step) {
    const hour = dateFormat({ hour: '2-digit' });
    const hm = dateFormat({ hour: '2-digit', minute: '2-digit' });
    const day = dateFormat({ day: 'numeric', month: 'numeric' });
    const out = [];
    for (let x = Math.ceil(start / 3_600_000) * 3_600_000; x < end; x += 3_600_000) {
      const h = Number(hour.format(x));
      if (h % step === 0) out.push({ x, label: h === 0 ? day.format(x) : hm.format(x) });
    }
    return out;
  }

  function renderPlan(s) {
    const plan = s.plan;
    if (!plan) { setHtml('plan', t('none')); return; }
    const start = Date.parse(plan.horizon.start);
    const end = Date.parse(plan.horizon.end);
    const span = end - start;
    const pct = (x) => `${Math.max(0, Math.min(100, ((x - start) / span) * 100))}%`;
    // Rows in the line's order (the configured processes: mixing → refining → conching → tempering), then any other.
    const order = s.lines.map((l) => l.process);
    const processes = [...new Set([...order, ...plan.runs.map((r) => r.process)])];
    const nowX = pct(Date.parse(s.now));
    const narrow = window.matchMedia('(max-width: 700px)').matches;
    const ticks = planTicks(start, end, narrow ? 12 : 6);
    const runTitle = (p, r) => `${p} · ${t('batch')} ${r.batch} · ${localTime(r.start, true)}–${localTime(r.end)} · ${fmt(r.cost_eur)} €${r.waited_min !== null && r.waited_min !== undefined ? ` · ${t('holding')} ${fmt(r.waited_min / 60, 1)} h` : ''}${r.wait_reason ? ` · ${r.wait_reason}` : ''}`;
    const rows = processes.map((p) => `<div class="tl-row" data-process="${esc(p)}"><span translate="no">${esc(p)}</span><div class="tl-track">${plan.runs.filter((r) => r.process === p).map((r) => { const a = Date.parse(r.start); const b = Date.parse(r.end); return `<div class="tl-run" data-batch="${esc(r.batch)}" data-left="${pct(a)}" data-width="calc(${pct(b)} - ${pct(a)})" title="${esc(runTitle(p, r))}">${esc(r.batch)}</div>`; }).join('')}${ticks.map((k) => `<div class="tl-grid" data-left="${pct(k.x)}"></div>`).join('')}<div class="tl-now" data-left="${nowX}"></div></div></div>`).join('');
    const axis = `<div class="tl-row tl-axis"><span>${t('time')}</span><div class="tl-ticks">${ticks.map((k) => `<span class="tl-tick" data-left="${pct(k.x)}">${esc(k.label)}</span>`).join('')}</div></div>`;
    const why = plan.totals.saved_eur !== null && plan.totals.saved_eur < 0 && plan.totals.saved_reason ? ` <span class="badge stale" title="${esc(plan.totals.saved_reason)}">${t('savedWhy')}: ${message('PLAN', plan.totals.saved_reason) ?? esc(plan.totals.saved_reason)}</span>` : '';
    const saved = plan.totals.saved_eur === null ? '' : ` · ${t('saved')}: <b id="plan-saved">${fmt(plan.totals.saved_eur)} €</b>${why}`;
    const infeasible = plan.infeasible.length ? ` · <span class="badge stale">${plan.infeasible.map((x) => message('PLAN_INFEASIBLE', x) ?? codeText('PLAN_INFEASIBLE')).join('; ')}</span>` : '';
    const holding = (plan.holding_breaches || []).length ? ` · <span class="badge stale" id="plan-holding">${plan.holding_breaches.map((x) => message('PLAN', x) ?? esc(x)).join('; ')}</span>` : '';
    // Steps that left the plan (plugins/planner/left-plan.ts), each with its reason in the title.
    const left = (plan.left_plan || []).length ? ` · <span class="badge stale" id="plan-left" title="${esc(plan.left_plan.map((l) => `${l.process} #${l.batch}: ${l.reason}`).join('\n'))}">${t('leftPlan')}: ${plan.left_plan.map((l) => esc(`${l.process} #${l.batch}`)).join(', ')}</span>` : '';
    // Stability (issue #23): the frozen window and the day's batch moves against the limit, each move's reason in the title.
    const st = plan.stability;
    const stability = st ? ` · <span id="plan-stability" title="${esc(st.moves.map((m) => `${t('batch')} ${m.batch} · ${localTime(m.at)} · ${m.reason}`).join('\n'))}">${st.frozen_until ? `${t('frozenUntil')} ${localTime(st.frozen_until)}` : `${t('frozenReleased')}${st.released ? ` (${esc(st.released)})` : ''}`} · ${t('movesToday')}: <b id="plan-moves">${fmt(st.moves_today, 0)}/${fmt(st.max_moves_per_day, 0)}</b></span>` : '';
    // How sure the saving is where the plan is on forecast prices (gateway/planner/band.ts): its 10-90 % range.
    const fb = plan.forecast_band;
    const band = fb ? ` · <span id="plan-band">${t('forecastFrom')} ${localTime(fb.first_forecast, true)}: ${t('saved')} ${fmt(fb.saved_p10_eur)}–${fmt(fb.saved_p90_eur)} € (10–90 %)</span>` : '';
    setHtml('plan', `<div class="timeline">${rows}${axis}</div><p>${localTime(plan.horizon.start, true)} → ${localTime(plan.horizon.end, true)} · ${t('method')}: ${id(plan.method)} · ${t('cost')}: <b id="plan-cost">${fmt(plan.totals.cost_eur)} €</b>${saved}${band} · ${fmt(plan.totals.kwh, 0)} kWh${stability}${holding}${left}${infeasible}</p>`);
    // Positions go through the CSSOM: the Content-Security-Policy refuses inline style attributes.
    for (const el of $('plan').querySelectorAll('[data-left]')) {
      el.style.left = el.dataset.left;
      if (el.dataset.width) el.style.width = el.dataset.width;
    }
    // A run too short for its batch number shows none (its tooltip has it), never a cut "#" fragment.
    for (const el of $('plan').querySelectorAll('.tl-run')) el.classList.toggle('narrow', el.scrollWidth > el.clientWidth + 1);
    // The daily-batches form shows the configured values (not the runs in the horizon), again after an apply.
    const fields = $('quota-fields');
    const configured = s.lines.map((l) => `${l.process}=${l.batches_per_day}`).join(',');
    if (fields.dataset.configured !== configured && s.lines.length) {
      fields.innerHTML = s.lines.map((l) => `<label translate="no">${esc(l.process)} <input type="number" min="0" max="24" size="2" name="${esc(l.process)}" value="${esc(l.batches_per_day)}" data-configured="${esc(l.batches_per_day)}"></label>`).join(' ');
      fields.dataset.configured = configured;
    }
  }

  function renderLines(s) {
    const now = (l) => (l.command ? `<span class="badge ${l.command.state === 'running' ? 'ok' : ''}" data-state="${esc(l.command.state)}">${t(l.command.state === 'running' ? 'runningNow' : 'nextRun')}</span> ${t('batch')} <b>${esc(l.command.batch)}</b> ${localTime(l.command.start, l.command.state !== 'running')}–${localTime(l.command.end)}` : '—');
    const ack = (l) => (l.ack ? `<span title="${esc(l.ack.plan_id)}">✓ ${id(`v${String(l.ack.plan_id).split('#').pop()}`)}${l.ack.batch ? ` · ${t('batch')} ${esc(l.ack.batch)}` : ''} ${localTime(l.ack.at)}</span>` : '—');
    const ovr = (l) => (l.override ? `${t(l.override.command === 'stop' ? 'stop' : 'resumeCmd')} → ${localTime(l.override.until, true)}` : '—');
    // Acknowledgement and override columns only when some line has one, so that the table fits a phone.
    const cols = [
      { cls: 'c-line', head: t('line'), cell: (l) => `${id(l.line)}${l.process !== l.line ? `<br><small>${id(l.process)}</small>` : ''}` },
      { cls: 'c-run', head: t('run'), cell: now },
      ...(s.lines.some((l) => l.ack) ? [{ cls: 'c-ack', head: t('ackCol'), cell: ack }] : []),
      ...(s.lines.some((l) => l.override) ? [{ cls: 'c-ovr', head: t('override'), cell: ovr }] : []),
    ];
    setHtml('lines', s.lines.length
      ? `<table class="lines-table"><colgroup>${cols.map((c) => `<col class="${c.cls}">`).join('')}</colgroup><tr>${cols.map((c) => `<th>${c.head}</th>`).join('')}</tr>${s.lines.map((l) => `<tr data-line="${esc(l.line)}">${cols.map((c) => `<td>${c.cell(l)}</td>`).join('')}</tr>`).join('')}</table>`
      : t('none'));
  }

  /** The last recalibration: status and short reason in the page's language, the English summary folded away. */
  function recalibrationHtml(r) {
    const reason = RECALIBRATION_REASONS.find((x) => x.re.test(r.summary));
    const said = reason ? reason[lang] || reason.es : null;
    const text = typeof said === 'function' ? said(reason.re.exec(r.summary)) : said;
    return `<div class="recalibration"><p>${t('recalibration')}: <b>${esc(v('recalibration', r.status))}</b>${r.at ? ` · ${localTime(r.at, true)}` : ''}${text ? ` · ${esc(text)}` : ''}</p>`
      + `<details><summary>${t('technical')}</summary><p class="log" translate="no" lang="en">${esc(r.summary)}</p></details></div>`;
  }

  /** Alerts grouped by kind and subject, newest first, `alertsShown` of them. */
  function renderAlerts(s) {
    const groups = s.alert_groups || [];
    const shown = groups.slice(0, alertsShown);
    const when = (g) => (g.count > 1 ? `${t('firstSeen')} ${localTime(g.first, true)} · ${t('lastSeen')} ${localTime(g.last, true)}` : localTime(g.last, true));
    const rows = shown.map((g) => `<tr class="alert-group${g.resolved_at ? ' resolved' : ''}" data-code="${esc(g.code)}"><td><span class="badge level-${esc(g.level)}">${esc(v('level', g.level))}</span></td><td><b>${codeText(g.code)}</b>${g.count > 1 ? ` <span class="badge count">×${g.count}</span>` : ''}<br><span class="msg" title="${esc(g.message)}">${message(g.code, g.message) ?? (/^[\w.-]+$/.test(g.subject) ? id(g.subject) : '')}</span><br><small>${when(g)}${g.resolved_at ? ` · ${t('resolved')} ${localTime(g.resolved_at, true)}` : ''}</small></td><td>${g.acked ? t('acked') : `<button class="auth-only" data-ack="${g.latest_id}">${t('ack')}</button>`}</td></tr>`).join('');
    const more = groups.length > alertsShown ? `<button id="alerts-more">${t('showMore')} (${groups.length - alertsShown})</button>` : alertsShown > 5 ? `<button id="alerts-less">${t('showLess')}</button>` : '';
    setHtml('alerts', groups.length ? `<table>${rows}</table>${more}` : t('none'));
  }

  function renderHealth(s) {
    const h = s.health;
    // Why a plugin is not ok, in the page's language (by its health code); the English message stays in the fold.
    const why = (p) => (p.state === 'ok' || p.state === 'disabled' ? '' : REASONS[p.code] ? REASONS[p.code][lang] || REASONS[p.code].es : p.code ? REASONS.unknown[lang] : '');
    const plugins = Object.entries(h.plugins).map(([n, p]) => `<tr><td>${id(n)}</td><td class="state-${esc(p.state)}">${esc(v('state', p.state))}</td><td class="reason">${esc(why(p))}</td></tr>`).join('');
    const messages = Object.entries(h.plugins).filter(([, p]) => p.message).map(([n, p]) => `<li translate="no" lang="en"><b>${esc(n)}</b>: ${esc(p.message)}</li>`).join('');
    const jobs = h.jobs.map((j) => `<tr><td>${id(j.id)}</td><td>${j.lastRun ? `${esc(v('outcome', j.lastRun.outcome))} ${localTime(j.lastRun.at, true)} (${fmt(j.lastRun.durationMs, 0)} ${t('ms')})` : '—'}</td><td>${j.paused ? t('paused') : localTime(j.nextRun, true)}</td><td><button class="auth-only" data-job="${esc(j.id)}" data-action="trigger">${t('trigger')}</button> <button class="auth-only" data-job="${esc(j.id)}" data-action="${j.paused ? 'resume' : 'pause'}">${t(j.paused ? 'resume' : 'pause')}</button></td></tr>`).join('');
    const stale = h.series.filter((x) => x.stale).map((x) => `<span class="badge stale" translate="no">${esc(x.id)}</span>`).join(' ');
    const devices = (s.devices || []).map((d) => `<tr><td>${id(d.name)}</td><td translate="no">${esc(d.protocol === 'opcua' ? 'OPC UA' : 'Modbus')}</td><td>${t(d.role === 'line' ? 'line' : 'floor')}</td><td class="state-${esc(d.state)}" title="${esc(d.message)}">${esc(v('state', d.state))}${d.code ? ` <small translate="no">${esc(d.code)}</small>` : ''}</td></tr>`).join('');
    const deviceTable = devices ? `<table class="devices"><tr><th>${t('device')}</th><th>${t('protocol')}</th><th></th><th>${t('state')}</th></tr>${devices}</table>` : '';
    setHtml('health', `<p>broker: ${h.broker.connected ? `<span class="badge ok">${esc(v('state', 'ok'))}</span>` : `<span class="badge stale">${t('down')}</span>`} · ${t('clients')} ${h.broker.clients ?? '—'} · ${t('models')}: ${h.models.map((m) => `${id(`${m.name}@${m.version}`)} (${id(m.backend)}, ${fmt(m.inferences, 0)})`).join(', ') || '—'} ${stale}</p>
      ${deviceTable}<table><tr><th>${t('plugin')}</th><th>${t('state')}</th><th>${t('reason')}</th></tr>${plugins}</table><table><tr><th>${t('job')}</th><th>${t('last')}</th><th>${t('next')}</th><th></th></tr>${jobs}</table>
      <details><summary>${t('details')}</summary><ul class="log">${messages}</ul></details>`);
  }

  /** Live only while the event stream is open, the page has loaded recently and the current data is not stale. */
  function renderLive() {
    const el = $('live');
    const open = events.readyState === 1;
    const dataStale = Boolean(status && ((status.price && status.price.stale) || (status.outdoor && status.outdoor.temp && status.outdoor.temp.stale)));
    const old = loadedAt && Date.now() - loadedAt > 150_000;
    const [cls, key] = events.readyState === 2 || (!open && loadedAt) ? ['stale', 'offline'] : !open ? ['', 'connecting'] : dataStale || old ? ['stale', 'dataStale'] : ['ok', 'live'];
    el.className = `badge ${cls}`;
    el.dataset.state = key;
    el.textContent = t(key);
  }

  function render() {
    if (!status) return;
    lang ||= TEXT[status.language] ? status.language : 'es';
    applyI18n();
    $('site').textContent = (status.site_name && status.site_name[lang]) || status.site.name;
    $('clock').textContent = localTime(status.now, true);
    $('version').textContent = `v${status.version}`;
    renderReplay(status);
    renderDryRun(status);
    renderNow(status);
    renderCharts(status);
    renderPlan(status);
    renderLines(status);
    renderAlerts(status);
    renderHealth(status);
    document.body.classList.toggle('authed', Boolean(token()));
    $('auth').textContent = token() ? t('authed') : t('readonly');
    renderLive();
  }

  async function load() {
    const res = await fetch('/api/status');
    status = await res.json();
    loadedAt = Date.now();
    render();
    document.body.dataset.loaded = String(loadedAt);
  }

  async function act(method, path, body) {
    const res = await fetch(path, { method, headers: { authorization: `Bearer ${token()}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.message || `HTTP ${res.status}`);
    return data;
  }

  const quota = () => Object.fromEntries([...document.querySelectorAll('#quota-fields input')].map((i) => [i.name, Number(i.value)]));
  /** The fields changed against the configured values: "mixing 2 → 3". */
  const quotaDiff = () => [...document.querySelectorAll('#quota-fields input')].filter((i) => Number(i.value) !== Number(i.dataset.configured)).map((i) => ({ process: i.name, from: Number(i.dataset.configured), to: Number(i.value) }));
  const diffText = (d) => d.map((x) => `<span translate="no">${esc(x.process)}</span> ${x.from} → <b>${x.to}</b> ${t('perDay')}`).join('; ');

  document.addEventListener('click', async (e) => {
    const el = e.target;
    try {
      if (el.dataset.job) { await act('POST', `/scheduler/jobs/${encodeURIComponent(el.dataset.job)}/${el.dataset.action}`); await load(); }
      else if (el.dataset.ack) { await act('POST', `/api/alerts/${el.dataset.ack}/ack`); await load(); }
      else if (el.id === 'alerts-more') { alertsShown += 10; render(); }
      else if (el.id === 'alerts-less') { alertsShown = 5; render(); }
      else if (el.id === 'preview') {
        // An unchanged form changes nothing: it is the plan in force.
        if (!quotaDiff().length) { $('preview-result').innerHTML = `${t('noChange')} · ${t('cost')} ${fmt(status.plan && status.plan.totals.cost_eur)} €`; return; }
        const p = await act('POST', '/api/plan/preview', { quota: quota() });
        $('preview-result').innerHTML = `${diffText(quotaDiff())}: ${t('cost')} ${fmt(p.totals.cost_eur)} € · ${t('saved')} ${fmt(p.totals.saved_eur)} €${p.infeasible.length ? ` · ${p.infeasible.map((x) => message('PLAN_INFEASIBLE', x) ?? codeText('PLAN_INFEASIBLE')).join('; ')}` : ''}`;
      }
      else if (el.id === 'apply') {
        // Applying changes the plant: the difference is spelled out and must be confirmed.
        const d = quotaDiff();
        $('preview-result').innerHTML = d.length ? `${t('confirmApply')} ${diffText(d)}. <button type="button" id="apply-confirm">${t('confirm')}</button> <button type="button" id="apply-cancel">${t('cancel')}</button>` : t('noChange');
      }
      else if (el.id === 'apply-confirm') { await act('POST', '/api/plan/apply', { quota: quota() }); $('preview-result').textContent = `✓ ${t('applied')}`; await load(); }
      else if (el.id === 'apply-cancel') { $('preview-result').textContent = ''; for (const i of document.querySelectorAll('#quota-fields input')) i.value = i.dataset.configured; }
    } catch (error) {
      $('preview-result').textContent = `${t('refused')}: ${error.message}`;
      document.body.dataset.lastError = error.message;
    }
  });
  $('lang').addEventListener('change', () => {
    lang = $('lang').value;
    localStorage.setItem('choco-lang', lang);
    const url = new URL(location.href);
    url.searchParams.set('lang', lang);
    history.replaceState(null, '', url);
    render();
  });
  $('token').addEventListener('change', () => { sessionStorage.setItem('choco-token', $('token').value); render(); });
  $('token').value = token();

  let pending;
  const events = new EventSource('/api/events');
  events.addEventListener('update', () => { clearTimeout(pending); pending = setTimeout(load, 250); });
  events.onopen = () => renderLive();
  events.onerror = () => renderLive();
  setInterval(load, 60_000);
  setInterval(renderLive, 10_000);
  window.addEventListener('resize', () => { clearTimeout(pending); pending = setTimeout(render, 200); });
  load();
})();
