/* choco-edge status page: every visible word in Spanish and English. Plain JavaScript, no build step. */
window.CHOCO_I18N = (() => {
  'use strict';
  const LOCALE = { es: 'es-ES', en: 'en-GB' };
  const TEXT = {
    es: {
      price: 'Precio ahora', period: 'Periodo', outdoor: 'Exterior', floor: 'Planta', recommendation: 'Recomendación', prices: 'Precios: días anteriores, hoy y próximos (publicados y previsión)',
      temperature: 'Temperatura (24 h y próximas 48 h)', humidity: 'Humedad', plan: 'Plan de producción', lines: 'Líneas', alerts: 'Alertas', accuracy: 'Precisión de la previsión (error medio, €/MWh)',
      health: 'Fuentes, plugins, tareas, modelos y broker', zoom: 'Arrastre para ampliar; doble clic para restablecer.', token: 'token', stale: 'DESACTUALIZADO', source: 'fuente',
      published: 'publicado', forecast: 'previsión', band: 'banda 10-90 %', observed: 'observado', quota: 'Lotes por día:', preview: 'Previsualizar', apply: 'Aplicar', saved: 'ahorro previsto frente a turno fijo',
      cost: 'coste previsto', none: 'sin datos', ack: 'Reconocer', acked: 'reconocida', trigger: 'Ejecutar', pause: 'Pausar', resume: 'Reanudar', next: 'próxima', live: 'conectado', offline: 'sin conexión', connecting: 'conectando',
      dataStale: 'datos desactualizados', authed: 'acciones habilitadas', readonly: 'solo lectura', refused: 'rechazado', urgency: 'urgencia', line: 'Línea', process: 'Proceso', run: 'Tanda', override: 'Anulación', job: 'Tarea', last: 'Última', state: 'Estado',
      ackCol: 'recibido', time: 'Hora', language: 'idioma', clients: 'clientes', models: 'modelos', paused: 'en pausa', down: 'caído', method: 'método', plugin: 'plugin', device: 'Equipo de campo', protocol: 'Protocolo', details: 'Detalle técnico (registro del gateway, en inglés)',
      showMore: 'Mostrar más', showLess: 'Mostrar menos', times: 'veces', firstSeen: 'primera', lastSeen: 'última', replay: 'Reproducción de datos grabados', simulated: 'fecha simulada', speed: 'velocidad', replayEnded: 'la grabación ha terminado',
      runs: 'tandas', noPlanReason: 'ningún plan cumple todas las restricciones', api: 'API', metrics: 'métricas', ms: 'ms', stop: 'parar', resumeCmd: 'reanudar',
      recalibration: 'Recalibración diaria', technical: 'Detalle técnico (en inglés)', resolved: 'resuelta',
      fromPlan: 'según el plan', modelInput: 'entrada del modelo', runningNow: 'en marcha', nextRun: 'siguiente', batch: 'lote', perDay: 'al día',
      noChange: 'sin cambios: es el plan en vigor', confirmApply: 'Se aplicará:', confirm: 'Confirmar', cancel: 'Cancelar', applied: 'aplicado', holding: 'espera entre pasos', leftPlan: 'fuera del plan', savedWhy: 'por qué', frozenUntil: 'plan fijo hasta', frozenReleased: 'plan no fijado', movesToday: 'cambios de lote hoy', forecastFrom: 'precios previstos desde',
      reason: 'Motivo',
      dryRun: 'Modo sin escritura (puesta en marcha): el plan se calcula y se muestra, pero no se envía ninguna orden ni consigna a los PLC', dryRunSince: 'desde', dryRunHeld: 'escrituras retenidas', dryRunBy: 'activado por', dryRunShow: 'lo que se escribiría en cada PLC', dryRunLines: 'Modo sin escritura (puesta en marcha) para las líneas',
    },
    en: {
      price: 'Price now', period: 'Period', outdoor: 'Outdoor', floor: 'Plant floor', recommendation: 'Recommendation', prices: 'Prices: past days, today and the days ahead (published and forecast)',
      temperature: 'Temperature (24 h and next 48 h)', humidity: 'Humidity', plan: 'Production plan', lines: 'Lines', alerts: 'Alerts', accuracy: 'Forecast accuracy (mean error, €/MWh)',
      health: 'Sources, plugins, jobs, models and broker', zoom: 'Drag to zoom; double-click to reset.', token: 'token', stale: 'STALE', source: 'source',
      published: 'published', forecast: 'forecast', band: '10-90 % band', observed: 'observed', quota: 'Batches per day:', preview: 'Preview', apply: 'Apply', saved: 'planned saving against the fixed shift',
      cost: 'planned cost', none: 'no data', ack: 'Acknowledge', acked: 'acknowledged', trigger: 'Run now', pause: 'Pause', resume: 'Resume', next: 'next', live: 'connected', offline: 'offline', connecting: 'connecting',
      dataStale: 'data stale', authed: 'actions enabled', readonly: 'read-only', refused: 'refused', urgency: 'urgency', line: 'Line', process: 'Process', run: 'Batch', override: 'Override', job: 'Job', last: 'Last', state: 'State',
      ackCol: 'ack', time: 'Time', language: 'language', clients: 'clients', models: 'models', paused: 'paused', down: 'down', method: 'method', plugin: 'plugin', device: 'Field device', protocol: 'Protocol', details: 'Technical detail (gateway log, in English)',
      showMore: 'Show more', showLess: 'Show less', times: 'times', firstSeen: 'first', lastSeen: 'last', replay: 'Replay of recorded data', simulated: 'simulated time', speed: 'speed', replayEnded: 'the recording has ended',
      runs: 'batches', noPlanReason: 'no plan meets every constraint', api: 'API', metrics: 'metrics', ms: 'ms', stop: 'stop', resumeCmd: 'resume',
      recalibration: 'Daily recalibration', technical: 'Technical detail (in English)', resolved: 'resolved',
      fromPlan: 'from the plan', modelInput: 'model input', runningNow: 'running now', nextRun: 'next', batch: 'batch', perDay: 'per day',
      noChange: 'no change: this is the plan in force', confirmApply: 'This will apply:', confirm: 'Confirm', cancel: 'Cancel', applied: 'applied', holding: 'wait between steps', leftPlan: 'out of the plan', savedWhy: 'why', frozenUntil: 'plan frozen until', frozenReleased: 'plan not frozen', movesToday: 'batch moves today', forecastFrom: 'forecast prices from',
      reason: 'Reason',
      dryRun: 'Write-nothing mode (commissioning): the plan is computed and shown, but no line command or setpoint is sent to any PLC', dryRunSince: 'since', dryRunHeld: 'writes held back', dryRunBy: 'switched by', dryRunShow: 'what would be written to each PLC', dryRunLines: 'Write-nothing mode (commissioning) for the lines',
    },
  };
  /** Values the gateway sends as codes, shown in the chosen language. */
  const VALUES = {
    recommendation: { Optimal: { es: 'Óptimo', en: 'Optimal' }, Moderate: { es: 'Moderado', en: 'Moderate' }, Reduced: { es: 'Reducido', en: 'Reduced' }, Halt: { es: 'Parada', en: 'Halt' } },
    urgency: { Low: { es: 'baja', en: 'low' }, Medium: { es: 'media', en: 'medium' }, High: { es: 'alta', en: 'high' }, Critical: { es: 'crítica', en: 'critical' } },
    level: { info: { es: 'info', en: 'info' }, warning: { es: 'aviso', en: 'warning' }, critical: { es: 'crítica', en: 'critical' } },
    state: { ok: { es: 'ok', en: 'ok' }, degraded: { es: 'degradado', en: 'degraded' }, failed: { es: 'fallido', en: 'failed' }, disabled: { es: 'desactivado', en: 'disabled' }, starting: { es: 'arrancando', en: 'starting' } },
    outcome: { ok: { es: 'ok', en: 'ok' }, failed: { es: 'fallida', en: 'failed' }, placeholder: { es: 'sin uso', en: 'unused' }, 'skipped-overlap': { es: 'omitida', en: 'skipped' }, skipped: { es: 'omitida', en: 'skipped' } },
    recalibration: {
      'not run yet': { es: 'aún no ejecutada', en: 'not run yet' }, promoted: { es: 'nueva calibración en uso', en: 'new calibration in use' }, 'kept active': { es: 'se mantiene la activa', en: 'active one kept' },
      'up to date': { es: 'al día', en: 'up to date' }, skipped: { es: 'omitida', en: 'skipped' }, failed: { es: 'fallida', en: 'failed' },
    },
    price_source: { published: { es: 'publicado', en: 'published' }, forecast: { es: 'previsión', en: 'forecast' }, observed: { es: 'observado', en: 'observed' }, persistence: { es: 'persistencia', en: 'persistence' } },
  };
  /**
   * Why a source or plugin is not ok, by the health code it reports (the same code as in logs and alerts): the page
   * says it in its language; the gateway's own English message stays under the technical fold.
   */
  const REASONS = {
    timeout: { es: 'la fuente no responde a tiempo; se reintenta', en: 'the source does not answer in time; retrying' },
    unreachable: { es: 'no se puede conectar con la fuente (red o servidor caído); se reintenta', en: 'the source cannot be reached (network or server down); retrying' },
    rate_limited: { es: 'la fuente limita las peticiones; se espera antes de reintentar', en: 'the source is rate-limiting; waiting before retrying' },
    server_error: { es: 'error en el servidor de la fuente; se reintenta', en: 'the source\'s server failed; retrying' },
    client_error: { es: 'la fuente rechaza la petición', en: 'the source refuses the request' },
    auth_failed: { es: 'la fuente rechaza la clave o el token', en: 'the source refuses the key or token' },
    malformed_payload: { es: 'respuesta con un formato inesperado; no se ha guardado nada', en: 'the answer has an unexpected format; nothing was stored' },
    wrong_unit: { es: 'respuesta en una unidad inesperada; no se ha guardado nada', en: 'the answer is in an unexpected unit; nothing was stored' },
    payload_mismatch: { es: 'la respuesta no es la pedida (otro día, región o serie); no se ha guardado nada', en: 'the answer is not what was asked for (another day, region or series); nothing was stored' },
    store_failed: { es: 'no se pudo guardar en el almacén de datos', en: 'could not write to the data store' },
    config_invalid: { es: 'configuración no válida', en: 'invalid configuration' },
    plugin_failed: { es: 'el plugin ha fallado', en: 'the plugin failed' },
    inputs_missing: { es: 'faltan datos de entrada (precios o tiempo)', en: 'input data (prices or weather) missing' },
    plc_write_failed: { es: 'el PLC no acepta las escrituras', en: 'the PLC does not take the writes' },
    plc_write_retrying: { es: 'fallo al escribir en el PLC; se reintenta', en: 'write to the PLC failed; retrying' },
    plc_unreachable: { es: 'modo sin escritura: no se puede leer el PLC', en: 'write-nothing mode: the PLC cannot be read' },
    overrun: { es: 'el ciclo de lectura no da abasto', en: 'the poll cycle overruns' },
    no_base_load: { es: 'sin carga base aún: el contador general tiene menos días medidos de los necesarios y no hay perfil configurado; se prevé 0 kW', en: 'no base load yet: the site meter has fewer measured days than needed and no profile is configured; 0 kW forecast' },
    unknown: { es: 'error sin clasificar (ver el detalle técnico)', en: 'unclassified error (see the technical detail)' },
  };
  /** What each alert code means. */
  const CODES = {
    PLC_WRITE_FAILED: { es: 'Fallo al escribir en el PLC', en: 'PLC write failed' },
    PLAN_INFEASIBLE: { es: 'Plan imposible', en: 'No feasible plan' },
    STALE_INPUT: { es: 'Datos de entrada desactualizados', en: 'Stale input' },
    PLUGIN_DOWN: { es: 'Plugin caído', en: 'Plugin down' },
    PRICE_SPIKE: { es: 'Pico de precio', en: 'Price spike' },
    AMBIENT_LIMIT: { es: 'Límite de temperatura exterior', en: 'Ambient limit' },
    HALT: { es: 'Parada', en: 'Halt' },
    FORECAST_PRICES: { es: 'Plan con precios previstos', en: 'Plan on forecast prices' },
    STORE_REOPENED: { es: 'Almacén reabierto tras una escritura fallida', en: 'Store reopened after a failed write' },
    CLOCK_STEPPED: { es: 'Salto del reloj del sistema', en: 'Wall clock stepped' },
    CLOCK_UNTRUSTED: { es: 'Reloj del sistema no fiable', en: 'Wall clock not trusted' },
    HOLDING_LIMIT: { es: 'Espera entre pasos por encima del límite', en: 'Wait between steps above its limit' },
    DRY_RUN: { es: 'Modo sin escritura', en: 'Write-nothing mode' },
    OUTPUTS_LIVE: { es: 'Escritura en los PLC activada', en: 'Writing to the PLCs switched on' },
  };
  /**
   * Gateway messages (English in logs and MQTT) rendered in the page's language. `m` is the regex match, `f` has
   * `date(iso)`, `num(x, d)`, `v(kind, value)` and `t(key)`. Unknown messages show the code's meaning only.
   */
  const MESSAGES = [
    // The limit as configured: "limit 4 h", or "limit 20 min" when it is not whole quarter-hours (holding.ts breachFigures).
    { re: /^batch (\d+) waits ([\d.]+) (h|min) for (\S+) \(limit ([\d.]+) (h|min)\)$/, es: (m, f) => `el lote ${m[1]} espera ${f.num(m[2], m[3] === 'h' ? 1 : 0)} ${m[3]} antes de ${m[4]} (límite ${f.num(m[5], m[6] === 'h' ? 1 : 0)} ${m[6]})`, en: (m, f) => `batch ${m[1]} waits ${f.num(m[2], m[3] === 'h' ? 1 : 0)} ${m[3]} before ${m[4]} (limit ${f.num(m[5], m[6] === 'h' ? 1 : 0)} ${m[6]})` },
    { re: /^the plan cannot do all the work \(see infeasible\), so it is not comparable with the fixed shift$/, es: () => 'el plan no puede hacer todo el trabajo, así que no es comparable con el turno fijo', en: () => 'the plan cannot do all the work, so it is not comparable with the fixed shift' },
    { re: /^the plan in force is kept \(its extra cost is below planner\.replanThresholdEur\) and the fixed shift breaks its constraints$/, es: () => 'se mantiene el plan en vigor (su coste extra está por debajo del umbral) y el turno fijo incumple sus restricciones', en: () => 'the plan in force is kept (its extra cost is below the threshold) and the fixed shift breaks its constraints' },
    { re: /^the fixed shift costs less only because it breaks the plan's constraints: (.*)$/, es: () => 'el turno fijo solo cuesta menos porque incumple las restricciones del plan (detalle técnico en inglés)', en: () => "the fixed shift costs less only because it breaks the plan's constraints (technical detail in English)" },
    { re: /^plan uses forecast prices after (\S+)$/, es: (m, f) => `el plan usa precios previstos desde ${f.date(m[1])}`, en: (m, f) => `the plan uses forecast prices from ${f.date(m[1])}` },
    { re: /^no plan meets every constraint; the binding one is the contracted power of ([\d.]+) kW$/, es: (m, f) => `ningún plan cumple todas las restricciones; limita la potencia contratada de ${f.num(m[1], 0)} kW`, en: (m, f) => `no plan meets every constraint; the binding one is the contracted power of ${f.num(m[1], 0)} kW` },
    { re: /^no plan meets every constraint; the binding one is the batch order together with the forbidden hours and ambient limits$/, es: () => 'ningún plan cumple todas las restricciones; limitan el orden de los lotes junto con las horas prohibidas y los límites de temperatura', en: () => 'no plan meets every constraint; the binding ones are the batch order with the forbidden hours and ambient limits' },
    { re: /^(\S+): quota of (\d+) runs of (\d+) min does not fit; at most (\d+) fit in the allowed ([\d.]+) h$/, es: (m, f) => `${m[1]}: no caben ${m[2]} tandas de ${m[3]} min; caben como mucho ${m[4]} en las ${f.num(m[5], 1)} h permitidas`, en: (m, f) => `${m[1]}: ${m[2]} batches of ${m[3]} min do not fit; at most ${m[4]} fit in the allowed ${f.num(m[5], 1)} h` },
    { re: /^(\S+): no window of (\d+) min free of forbidden hours and ambient limits in the horizon \(quota (\d+)\)$/, es: (m) => `${m[1]}: ninguna ventana de ${m[2]} min libre de horas prohibidas y límites de temperatura (cuota ${m[3]})`, en: (m) => `${m[1]}: no ${m[2]}-min window free of forbidden hours and ambient limits (quota ${m[3]})` },
    { re: /^today \((\d{4}-\d{2}-\d{2})\): (.+) run\(s\) cannot start before midnight; the later days are planned in full$/, es: (m) => `hoy (${m[1]}): tandas que no pueden empezar antes de medianoche: ${m[2].replace(/(\d+) of (\d+) ([^\s,]+)/g, '$3 $1 de $2')}; los días siguientes se planifican completos`, en: (m) => `today (${m[1]}): ${m[2]} run(s) cannot start before midnight; the later days are planned in full` },
    { re: /^(\S+): no allowed start on (\d{4}-\d{2}-\d{2}) for its (\d+) run\(s\) there$/, es: (m) => `${m[1]}: ningún comienzo permitido el ${m[2]} para sus ${m[3]} tandas de ese día`, en: (m) => `${m[1]}: no allowed start on ${m[2]} for its ${m[3]} run(s) there` },
    { re: /^(\S+): needs ([\d.]+) kW, more than the contracted ([\d.]+) kW$/, es: (m, f) => `${m[1]}: necesita ${f.num(m[2], 0)} kW, más que los ${f.num(m[3], 0)} kW contratados`, en: (m, f) => `${m[1]}: needs ${f.num(m[2], 0)} kW, more than the contracted ${f.num(m[3], 0)} kW` },
    { re: /^planner: fewer than 4 slots of published or forecast (\S+) prices from now$/, es: (m) => `planificador: menos de 4 franjas de precios ${m[1]} publicados o previstos desde ahora`, en: (m) => `planner: fewer than 4 slots of published or forecast ${m[1]} prices from now` },
    { re: /^(\S+): no data stored yet$/, es: (m) => `${m[1]}: todavía sin datos`, en: (m) => `${m[1]}: no data yet` },
    { re: /^(\S+): no value covers now \(latest ends (\S+)\)$/, es: (m, f) => `${m[1]}: ningún valor para ahora (el último acaba ${m[2] === 'never' ? '—' : f.date(m[2])})`, en: (m, f) => `${m[1]}: no value for now (the latest ends ${m[2] === 'never' ? '—' : f.date(m[2])})` },
    { re: /^(\S+): last fetched (\d+) min ago \(limit (\d+) min\)$/, es: (m) => `${m[1]}: última descarga hace ${m[2]} min (límite ${m[3]} min)`, en: (m) => `${m[1]}: last fetched ${m[2]} min ago (limit ${m[3]} min)` },
    { re: /^price ([-\d.]+) €\/MWh at (\S+) \((\w+)\)$/, es: (m, f) => `precio de ${f.num(m[1], 2)} €/MWh a las ${f.date(m[2])} (${f.v('price_source', m[3])})`, en: (m, f) => `price ${f.num(m[1], 2)} €/MWh at ${f.date(m[2])} (${f.v('price_source', m[3])})` },
    { re: /^outdoor ([-\d.]+) °C at (\S+): production halted for those hours$/, es: (m, f) => `exterior ${f.num(m[1], 1)} °C a las ${f.date(m[2])}: producción parada esas horas`, en: (m, f) => `outdoor ${f.num(m[1], 1)} °C at ${f.date(m[2])}: production halted for those hours` },
    { re: /^outputs: dry run from the configuration: /, es: () => 'la configuración (outputs.dryRun) pide no escribir nada en los PLC', en: () => 'the configuration (outputs.dryRun) asks to write nothing to the PLCs' },
    { re: /^outputs: dry run switched (on|off) by (\S+(?: \S+)?): (.*)$/, es: (m) => `${m[1] === 'on' ? 'escritura en los PLC detenida' : 'escritura en los PLC activada'} por ${m[2]}: «${m[3]}»`, en: (m) => `${m[1] === 'on' ? 'writing to the PLCs stopped' : 'writing to the PLCs started'} by ${m[2]}: "${m[3]}"` },
    { re: /^Halt from (\S+)$/, es: (m, f) => `parada desde ${f.date(m[1])}`, en: (m, f) => `halt from ${f.date(m[1])}` },
    { re: /^line (\S+): write failed \((.*)\); retrying in (\d+) ms$/, es: (m) => `línea ${m[1]}: la escritura falló; reintento en ${m[3]} ms`, en: (m) => `line ${m[1]}: write failed; retrying in ${m[3]} ms` },
  ];
  /** The short reason of a recalibration result (its English summary goes in the technical detail). */
  const RECALIBRATION_REASONS = [
    { re: /too little history \(needs (\d+)\+ days/, es: (m) => `poco historial de precios (hacen falta ${m[1]} días o más)`, en: (m) => `too little price history (needs ${m[1]} days or more)` },
    { re: /no \S+ prices in the last 3 days/, es: 'sin precios de los últimos 3 días', en: 'no prices in the last 3 days' },
    { re: /not promoted: no day of the last \d+ could be scored/, es: 'aún no hay días con los que comparar; se mantiene la activa', en: 'no day to compare on yet; the active one stays' },
    { re: /not promoted/, es: 'la nueva calibración es peor que la activa en los últimos días', en: 'the new calibration is worse than the active one on the last days' },
    { re: /^promoted .*: no active model to compare with/, es: 'primera calibración en uso', en: 'first calibration in use' },
    { re: /^promoted/, es: 'la nueva calibración no es peor que la activa en los últimos días', en: 'the new calibration is not worse than the active one on the last days' },
  ];
  return { LOCALE, TEXT, VALUES, CODES, MESSAGES, RECALIBRATION_REASONS, REASONS };
})();
