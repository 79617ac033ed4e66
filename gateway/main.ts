#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AcceleratedClock } from './time/clock.js';
import { ConfigError, configFile as configFileFor, loadConfig, redactConfig } from './config/load.js';
import { Gateway } from './controller.js';
import { BUILTIN_PLUGINS } from './builtin-plugins.js';
import { checkConfigPorts, checkListenPorts } from './config/ports.js';
import { SdNotify } from './core/sd-notify.js';
import { dstHourWarnings } from './core/cron-local.js';
import { holdLimitWarnings } from './planner/holding.js';
import { hashPassword } from './mqtt/auth.js';
import { BackupError, restoreBackup, writeBackup } from './series/backup.js';
import { SeriesStore } from './series/store.js';
import { StoreOpenError } from './series/integrity.js';
import { repairStore } from './series/repair.js';
import { errorMessage } from './util/errors.js';
import { InputError, checkDateRange, checkGzipFile, checkInputFile, checkOutputFile, readInputText } from './config/cli-input.js';
import { VERSION, projectPath } from './util/version.js';
import { formatSimulation, simulate } from '../models/eval/simulate.js';
import { baseLoadFor } from '../models/eval/simulate-site.js';
import { dayTraceCsv } from '../models/eval/day-trace.js';
import { localDayRange } from './time/tz.js';
import { EvalUsageError, runEval } from '../models/eval/cli.js';
import { loadPriceSlots } from '../models/eval/datasets.js';
import { billCommand, checkPlausibleReadings, parseReadings } from './bill/cli.js';
import { advisePower, formatAdvice } from './contract/advise-power.js';
import { resolveContract } from './contract/contract.js';
import { simulatedLines, startSimulatedPlc, startSimulatedSensor } from '../plugins/replay/simulated-sensor.js';
import { startSimulatedSiteMeter } from '../plugins/replay/simulated-meter.js';
import { demoConfig, prepareDemoDir } from '../plugins/replay/demo.js';
import { demoPlcProtocol, simulatedOpcuaConfig, startSimulatedOpcuaPlc } from '../plugins/replay/simulated-opcua.js';

const USAGE = `choco-edge ${VERSION}: energy-aware edge gateway

usage: choco-edge <command> [--config FILE]

commands:
  start          run the gateway (embedded broker and store under ./data unless configured)
  demo           run the gateway on recorded OMIE prices with an accelerated clock, offline
  check-config   validate the configuration (file, CHOCO_EDGE_* environment) without starting
  simulate       plan each day on historical prices: --from DATE --to DATE --prices CSV[.gz][,CSV…]
                 [--weather CSV] [--weather-forecast persistence|observed|noisy [--seed N]] [--risk-weight W] [--max-moves N] [--move-rule budget|all-or-nothing] [--intraday on|off] [--intraday-margin C] [--ambient-z Z] [--ambient-stake EUR] [--forced-move limit|priced|saving] [--forced-stake EUR] [--days FILE.csv] [--decision-hour 10] [--drivers CSV]
                 [--forecaster recalibrated|network]; before 13:00 the plan uses the forecast of the calibration
                 made the afternoon before (as the daily recalibration job makes it); the plan's temperatures are
                 the last observation of each clock hour before the decision (persistence) or, as an upper bound
                 for a weather service's forecast, the observed ones; last line:
                 total: plan_eur=… baseline_eur=… hindsight_eur=…; with energy.contract in --config (and
                 [--base-load CSV] datetime_utc,kw, else energy.siteLoad.profile) also the bill of the plan, the
                 fixed shift and hindsight, and the total line gains excess_eur=… excess_quarter_hours=…;
                 --ambient-z Z: the chance constraint's z for this run instead of planner.ambientRisk.z (the
                 ambient limits at the temperature forecast + Z × σ(lead); 0 = the point forecast);
                 --days FILE.csv: one row per day, where the plan fixed at the decision hour lost against hindsight
                 (its runs and hindsight's, the price forecast and paid at each, the ranking error; README "Tracing a day")
  bill           the monthly electricity bill from quarter-hour readings: --readings CSV[.gz] (datetime_utc,kwh[,kvarh])
                 --prices CSV[.gz][,CSV…] (OMIE, quarter-hour or hourly) --from DATE --to DATE (to excluded), with
                 energy.contract from --config; one line per month (then one "  excess P<n> …" line per period
                 with an excess, its rule and figures) and a last line total: (README "The bill")
  advise-power   the contracted powers P1..P6 (non-decreasing) that minimise power term + excess power over up to
                 12 months of --readings CSV[.gz] (datetime_utc,kwh[,kvarh], as bill), with energy.contract from
                 --config; last line: advice: P1=… … P6=… current_eur=… advised_eur=… (README "Contracted-power advice")
  hash-password  print the scrypt hash of a password for mqtt.embedded.users
  backup         write the store (and the config file) to --out FILE.jsonl.gz; the gateway must be stopped
  restore        restore --from FILE into an empty data directory (--force to merge into a used one)
  store repair   rebuild a damaged store (copied aside first); the gateway must be stopped
  eval           evaluate a model on data files: --model NAME --prices CSV[.gz][,CSV…]
                 [--weather CSV] [--drivers CSV] [--from DATE] [--to DATE] [--version V]; the price forecaster
                 without --version is replayed as the gateway runs it: recalibrated every day, rolling origin
  help           this text

configuration: --config FILE or CHOCO_EDGE_CONFIG; every setting can be overridden by an
environment variable named after its path, e.g. CHOCO_EDGE_HTTP_PORT=8081.`;

const OPTIONS: Record<string, string[]> = {
  eval: ['model', 'prices', 'weather', 'drivers', 'city', 'from', 'to', 'version', 'models-dir'],
  simulate: ['prices', 'weather', 'weather-forecast', 'seed', 'risk-weight', 'max-moves', 'move-rule', 'intraday', 'intraday-margin', 'ambient-z', 'ambient-stake', 'forced-move', 'forced-stake', 'from', 'to', 'decision-hour', 'drivers', 'forecaster', 'base-load', 'days'],
  bill: ['readings', 'prices', 'from', 'to'],
  'advise-power': ['readings', 'step-kw'],
  backup: ['out'],
  restore: ['from', 'force'],
};

/** Flags that may stand alone (`restore --force`). */
const FLAGS_WITHOUT_VALUE = new Set(['force']);
const EXAMPLE_VALUE: Record<string, string> = {
  config: '--config /etc/choco-edge/config.yaml',
  out: '--out /var/backups/choco-edge/choco-edge-2026-12-06.jsonl.gz',
  from: '--from 2025-01-01',
  to: '--to 2025-02-01',
  prices: '--prices omie_day_ahead_spain_hourly.csv.gz',
  weather: '--weather meteostat_madrid_barajas_hourly.csv.gz',
  model: '--model price-forecaster',
};

function parseArgs(argv: string[]): { command: string; configFile?: string; options: Record<string, string> } {
  const [first = 'help', ...args] = argv;
  // Two-word commands: `store repair`.
  const [command, rest] = first === 'store' ? [`store ${args[0] ?? ''}`.trim(), args.slice(1)] : [first, args];
  if (command === 'hash-password') return { command, options: {} };
  let configFile: string | undefined;
  const options: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const [flag, inline] = arg.startsWith('--') ? (arg.slice(2).split(/=(.*)/s) as [string, string?]) : [arg, undefined];
    // A flag given without its value (`--out` last, or followed by another flag) is refused, never read as "".
    const value = () => {
      const v = inline ?? (rest[i + 1] !== undefined && !rest[i + 1]!.startsWith('--') ? rest[++i] : undefined);
      if (v === undefined || v.trim() === '') {
        if (FLAGS_WITHOUT_VALUE.has(flag)) return '';
        throw new ConfigError(`${arg.split('=')[0]} needs a value (${command === 'help' ? 'see choco-edge help' : `e.g. ${EXAMPLE_VALUE[flag] ?? `--${flag} VALUE`}`})`, []);
      }
      return v;
    };
    if (flag === 'config' || arg === '-c') configFile = value();
    else if (OPTIONS[command]?.includes(flag)) options[flag] = value();
    else throw new ConfigError(`unknown argument ${JSON.stringify(arg)} for ${command}`, []);
  }
  return { command, configFile, options };
}

async function run(gateway: Gateway): Promise<void> {
  const systemd = new SdNotify();
  let shuttingDown = false;
  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    const force = setTimeout(() => {
      gateway.log.error('shutdown took longer than 20 s; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    systemd.stopWatchdog();
    void systemd.notify('STOPPING=1', `STATUS=stopping on ${signal}`);
    void gateway.stop(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        gateway.log.error({ err: errorMessage(error) }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await gateway.start();
  } catch (error) {
    // A stop requested while starting (systemctl stop during TimeoutStartSec) ends the start; the stop decides the exit.
    if (shuttingDown) return;
    throw error;
  }
  if (shuttingDown) return;
  await systemd.notify('READY=1', `STATUS=running: http ${gateway.http?.url ?? 'off'}, mqtt ${gateway.mqttUrl}`);
  systemd.startWatchdog(() => !shuttingDown);
}

/** The data files and date range of eval and simulate, checked before any work starts. */
function checkDataOptions(options: Record<string, string>): void {
  if (options.prices !== undefined) {
    const files = options.prices.split(',').filter((file) => file.trim() !== '');
    if (!files.length) throw new InputError('--prices names no file (give one path, or several separated by commas)');
    for (const file of files) checkInputFile(file, '--prices');
  }
  for (const flag of ['weather', 'drivers']) if (options[flag] !== undefined) checkInputFile(options[flag], `--${flag}`);
  checkDateRange(options.from, options.to);
}

/** Opens `<dataDir>/store` for a CLI verb; only `create` (restore) may make a new store, read-only verbs never do. */
async function openStoreForCli(dataDir: string, { create }: { create: boolean }): Promise<SeriesStore> {
  const dir = join(resolve(dataDir), 'store');
  if (create) mkdirSync(dir, { recursive: true });
  try {
    return await SeriesStore.open(dir, { mustExist: !create });
  } catch (error) {
    if (/lock/i.test(errorMessage(error)) || /LOCK/.test(String((error as { cause?: unknown }).cause ?? ''))) {
      throw new EvalUsageError(`the store in ${dir} is in use by a running gateway: stop it first, or download a live backup with GET /api/store/backup (bearer token)`);
    }
    throw error;
  }
}

/** The report, unless it holds a NaN or Infinity: a number that was never computed is not printed as a result. */
function finiteReport(text: string, verb: string): string {
  const bad = /\b(NaN|-?Infinity)\b/.exec(text);
  if (bad) throw new Error(`${verb} computed ${bad[1]} in its report (a division by zero or missing data), so it prints nothing; please report this with the command line`);
  return text;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

async function main(): Promise<number> {
  const { command, configFile, options } = parseArgs(process.argv.slice(2));
  switch (command) {
    case 'start': {
      const config = loadConfig({ file: configFile });
      await checkListenPorts(config, 'gateway');
      await run(new Gateway({ config, configFile: configFileFor({ file: configFile }) }));
      return -1;
    }
    case 'demo': {
      const base = loadConfig({ file: configFile });
      const settings = base.demo;
      await checkListenPorts(base, 'demo');
      const demoDir = prepareDemoDir(base.dataDir);
      const clock = new AcceleratedClock(Date.parse(settings.startAt), settings.speed);
      let gateway: Gateway | undefined;
      // The OPC UA PLC needs node-opcua, absent from a production install: the Modbus one then, and the log says why.
      const protocol = demoPlcProtocol(settings.plc);
      const modbus = settings.simulatedSensor && protocol.plc === 'modbus';
      const sensor = modbus ? await startSimulatedSensor(() => gateway?.store, clock) : undefined;
      const plc = modbus ? await startSimulatedPlc() : undefined;
      const lines = [...new Set(base.planner.processes.map((p) => p.line))];
      const uaPlc = settings.simulatedSensor && protocol.plc === 'opcua' ? await startSimulatedOpcuaPlc(() => gateway?.store, clock, lines, join(demoDir, 'opcua-plc'), join(demoDir, 'opcua-pki')) : undefined;
      // The simulated site meter follows the runs the simulated PLC received, over Modbus or over OPC UA.
      const meter = plc ? await startSimulatedSiteMeter(clock, { holding: plc.holding, lines: simulatedLines(base.planner.processes.map((p) => p.line), plc.port) }) : uaPlc ? await startSimulatedSiteMeter(clock, () => uaPlc.runningKw()) : undefined;
      const config = demoConfig(configFile, demoDir, sensor?.port, plc?.port, meter?.port, uaPlc ? simulatedOpcuaConfig(uaPlc.endpointUrl, lines) : undefined);
      gateway = new Gateway({ config, clock });
      gateway.bus.on('gateway.stopping', 'demo', () => void Promise.all([sensor?.stop(), plc?.stop(), meter?.stop(), uaPlc?.stop()]));
      gateway.bus.on('replay.ended', 'demo', (e) => {
        gateway?.log.info({ dataEnd: new Date(e.dataEnd).toISOString() }, 'demo: the replay reached the end of its recorded data; the demo stops (run it again, or set demo.startAt)');
        process.kill(process.pid, 'SIGTERM');
      });
      await run(gateway);
      if (settings.simulatedSensor && protocol.note) gateway.log.warn({ requested: settings.plc, running: protocol.plc }, protocol.note);
      gateway.log.info(
        {
          startAt: config.demo.startAt,
          speed: config.demo.speed,
          http: gateway.http?.url,
          mqtt: gateway.brokerPorts,
          try: [`curl '${gateway.http?.url}/ree/prices?hours=24'`, `mosquitto_sub -p ${gateway.brokerPorts?.port} -t '${config.mqtt.base}/#' -v`],
        },
        `demo: replaying recorded OMIE prices and Seville weather (2018), ${config.demo.speed}x real time, with a simulated ${protocol.plc === 'opcua' ? 'OPC UA' : 'Modbus'} floor sensor and a simulated ${protocol.plc === 'opcua' ? 'OPC UA' : 'Modbus'} PLC for the lines`,
      );
      return -1;
    }
    case 'check-config': {
      const config = loadConfig({ file: configFile });
      const loaded = configFileFor({ file: configFile });
      // The ports `start` would refuse: taken by the gateway being reconfigured is a warning (a restart frees them).
      for (const warning of await checkConfigPorts(config)) process.stderr.write(`warning: ${warning}\n`);
      process.stdout.write(`configuration is valid (${loaded ? `${loaded}, ` : 'no config file: '}defaults and CHOCO_EDGE_* environment)\n`);
      for (const factory of BUILTIN_PLUGINS) {
        const on = factory.enabled(config);
        if (typeof on === 'object' && on.misconfigured) process.stderr.write(`warning: ${factory.name} is switched on but will not run: ${on.reason}\n`);
      }
      const jobs = Object.entries(config.scheduler.jobs).map(([id, j]) => ({ id, cron: j.cron, enabled: j.enabled }));
      for (const w of dstHourWarnings(jobs, config.scheduler.timezone, Date.now())) process.stderr.write(`warning: ${w}\n`);
      // A holding limit the plan's slots keep shorter than given (gateway/planner/holding.ts holdLimitSlots).
      for (const w of holdLimitWarnings(config.planner)) process.stderr.write(`warning: ${w}\n`);
      process.stdout.write(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
      return 0;
    }
    case 'eval': {
      if (!options.model || !options.prices) throw new EvalUsageError('usage: choco-edge eval --model <price-forecaster|production-recommender> --prices <csv.gz> [--weather <csv.gz>] [--drivers <csv.gz>] [--from YYYY-MM-DD] [--to YYYY-MM-DD]');
      checkDataOptions(options);
      process.stdout.write(`${finiteReport(await runEval({ ...options, model: options.model, prices: options.prices, modelsDir: options['models-dir'] }), 'eval')}\n`);
      return 0;
    }
    case 'simulate': {
      if (!options.prices || !options.from || !options.to) throw new EvalUsageError('usage: choco-edge simulate --from YYYY-MM-DD --to YYYY-MM-DD --prices <csv.gz> [--weather <csv.gz>] [--decision-hour 10]');
      checkDataOptions(options);
      if (options.days !== undefined) checkOutputFile(options.days, '--days');
      const config = loadConfig({ file: configFile });
      const decisionHour = Number(options['decision-hour'] ?? 10);
      if (!Number.isInteger(decisionHour) || decisionHour < 0 || decisionHour > 23) throw new InputError(`--decision-hour ${JSON.stringify(options['decision-hour'])} must be a whole hour from 0 to 23`);
      if (options.forecaster && options.forecaster !== 'recalibrated' && options.forecaster !== 'network') throw new EvalUsageError('--forecaster is recalibrated or network');
      const weatherForecast = options['weather-forecast'];
      if (weatherForecast && weatherForecast !== 'persistence' && weatherForecast !== 'observed' && weatherForecast !== 'noisy') throw new EvalUsageError('--weather-forecast is persistence, observed or noisy');
      const seed = Number(options.seed ?? 1);
      if (!Number.isInteger(seed) || seed < 0) throw new InputError(`--seed ${JSON.stringify(options.seed)} must be a whole number ≥ 0`);
      const riskWeight = Number(options['risk-weight'] ?? 0);
      if (!Number.isFinite(riskWeight) || riskWeight < 0) throw new InputError(`--risk-weight ${JSON.stringify(options['risk-weight'])} must be a number ≥ 0`);
      // The move limit of the plan the gateway runs (planner.maxMovesPerDay unless given) and how it is kept (issue #23).
      const maxMoves = Number(options['max-moves'] ?? config.planner.maxMovesPerDay);
      if (!Number.isInteger(maxMoves) || maxMoves < 0) throw new InputError(`--max-moves ${JSON.stringify(options['max-moves'])} must be a whole number ≥ 0`);
      const moveRule = options['move-rule'] ?? 'budget';
      if (moveRule !== 'budget' && moveRule !== 'all-or-nothing') throw new EvalUsageError('--move-rule is budget or all-or-nothing');
      const intraday = options.intraday ?? 'on';
      if (intraday !== 'on' && intraday !== 'off') throw new EvalUsageError('--intraday is on or off');
      const intradayMarginC = Number(options['intraday-margin'] ?? 0);
      if (!Number.isFinite(intradayMarginC) || intradayMarginC < 0) throw new InputError(`--intraday-margin ${JSON.stringify(options['intraday-margin'])} must be a number of °C ≥ 0`);
      const ambientZ = options['ambient-z'] === undefined ? undefined : Number(options['ambient-z']);
      const ambientStakeEur = options['ambient-stake'] === undefined ? undefined : Number(options['ambient-stake']);
      if (ambientStakeEur !== undefined && !(Number.isFinite(ambientStakeEur) && ambientStakeEur >= 0 && String(options['ambient-stake']).trim() !== '')) throw new InputError(`--ambient-stake ${JSON.stringify(options['ambient-stake'])} must be a number of euros ≥ 0 (what a run that meets an ambient limit loses)`);
      if (ambientZ !== undefined && !(Number.isFinite(ambientZ) && ambientZ >= 0 && ambientZ <= 4 && String(options['ambient-z']).trim() !== '')) throw new InputError(`--ambient-z ${JSON.stringify(options['ambient-z'])} must be a number from 0 to 4 (the standard-normal quantile of the ambient limits' margin)`);
      // The intraday forced-move rule (gateway/planner/forced-move.ts): planner.ambientRisk.forcedMoveRule / forcedMoveStakeEur unless given.
      const forcedMoveRule = options['forced-move'];
      if (forcedMoveRule !== undefined && forcedMoveRule !== 'limit' && forcedMoveRule !== 'priced' && forcedMoveRule !== 'saving') throw new EvalUsageError('--forced-move is limit, priced or saving');
      const forcedStakeEur = options['forced-stake'] === undefined ? undefined : Number(options['forced-stake']);
      if (forcedStakeEur !== undefined && !(Number.isFinite(forcedStakeEur) && forcedStakeEur >= 0 && String(options['forced-stake']).trim() !== '')) throw new InputError(`--forced-stake ${JSON.stringify(options['forced-stake'])} must be a number of euros ≥ 0 (what a run that meets an ambient limit loses; 0: the ambient stake)`);
      if (options['base-load'] !== undefined && !config.energy.contract) throw new InputError('--base-load prices the site as the bill does, which needs energy.contract in --config FILE');
      const baseLoad = config.energy.contract ? baseLoadFor(config, options['base-load'], { start: localDayRange(options.from, config.site.timezone).start, end: localDayRange(options.to, config.site.timezone).start }) : undefined;
      const site = config.energy.contract && baseLoad ? { contract: resolveContract(config.energy.contract), baseLoadKw: baseLoad.kw, baseLoadSource: baseLoad.source } : undefined;
      const result = await simulate({ ...config, planner: { ...config.planner, maxMovesPerDay: maxMoves } }, { moveRule, prices: options.prices, weather: options.weather, from: options.from, to: options.to, decisionHour, modelDir: projectPath('models/price-forecaster/1.0.0'), drivers: options.drivers, forecaster: options.forecaster as 'recalibrated' | 'network' | undefined, weatherForecast: weatherForecast as 'persistence' | 'observed' | 'noisy' | undefined, intraday: intraday === 'on', intradayMarginC, ...(ambientZ === undefined ? {} : { ambientZ }), ...(ambientStakeEur === undefined ? {} : { ambientStakeEur }), ...(forcedMoveRule ? { forcedMoveRule } : {}), ...(forcedStakeEur === undefined ? {} : { forcedStakeEur }), seed, riskWeight, site });
      // Per day, where the plan fixed at the decision hour lost against hindsight (models/eval/day-trace.ts).
      if (options.days !== undefined) writeFileSync(options.days, dayTraceCsv(result.days));
      process.stdout.write(`${finiteReport(formatSimulation(result, options.from, options.to, maxMoves), 'simulate')}\n`);
      return 0;
    }
    case 'bill': {
      if (!options.readings || !options.prices || !options.from || !options.to) throw new EvalUsageError('usage: choco-edge bill --readings FILE.csv[.gz] --prices CSV[.gz][,CSV…] --from YYYY-MM-DD --to YYYY-MM-DD [--config FILE]');
      checkDataOptions(options);
      const contract = loadConfig({ file: configFile }).energy.contract;
      process.stdout.write(`${finiteReport(billCommand(contract && resolveContract(contract), { readings: options.readings, prices: options.prices, from: options.from, to: options.to }, readInputText, (paths) => loadPriceSlots(paths)), 'bill')}\n`);
      return 0;
    }
    case 'advise-power': {
      if (!options.readings) throw new EvalUsageError('usage: choco-edge advise-power --readings FILE.csv[.gz] --config FILE [--step-kw 1]');
      const contract = loadConfig({ file: configFile }).energy.contract;
      if (!contract) throw new InputError('the configuration has no energy.contract: the advice needs the supply contract (README "The contract"); pass it with --config FILE');
      const step = Number(options['step-kw'] ?? 1);
      const resolved = resolveContract(contract);
      const rows = parseReadings(readInputText(options.readings, '--readings'), options.readings);
      checkPlausibleReadings(resolved, rows, -Infinity, Infinity, options.readings); // a file in Wh is refused, as by bill
      const advice = advisePower(resolved, rows, { stepKw: step });
      for (const w of advice.warnings) process.stderr.write(`choco-edge advise-power: warning: ${w}\n`);
      process.stdout.write(`${finiteReport(formatAdvice(advice, resolved), 'advise-power')}\n`);
      return 0;
    }
    case 'backup': {
      // No default file: run from a service account or a cron job, "the current folder" is nobody's choice.
      if (options.out === undefined) throw new InputError('backup needs --out FILE.jsonl.gz: where to write the backup (e.g. --out /var/backups/choco-edge/choco-edge-2026-12-06.jsonl.gz)');
      const out = options.out;
      checkOutputFile(out, '--out');
      const config = loadConfig({ file: configFile });
      const store = await openStoreForCli(config.dataDir, { create: false });
      try {
        await writeBackup(store, out, { version: VERSION, configFile: configFile ?? process.env.CHOCO_EDGE_CONFIG, now: Date.now() });
      } finally {
        await store.close();
      }
      process.stdout.write(`backup written to ${out}\n`);
      return 0;
    }
    case 'restore': {
      if (!options.from) throw new EvalUsageError('usage: choco-edge restore --from <backup.jsonl.gz> [--force true]');
      checkGzipFile(options.from, '--from', 'a .jsonl.gz file written by choco-edge backup');
      const config = loadConfig({ file: configFile });
      const store = await openStoreForCli(config.dataDir, { create: true });
      try {
        const r = await restoreBackup(store, options.from, { force: options.force === 'true' || options.force === '' });
        process.stdout.write(`restored ${r.entries} entries from a backup of ${r.createdAt}${r.config ? '; the backup also holds a config file (not written: copy it yourself if wanted)' : ''}\n`);
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'store repair': {
      const config = loadConfig({ file: configFile });
      const r = await repairStore(join(resolve(config.dataDir), 'store'));
      const lost = r.recordsBefore === null ? 'records before the damage unknown (no clean shutdown recorded)' : r.recordsAfter < r.recordsBefore ? `${r.recordsBefore - r.recordsAfter} of ${r.recordsBefore} records could not be recovered` : 'nothing lost';
      process.stdout.write(`store repaired: ${r.recordsAfter} records (${lost}); the damaged store was copied to ${r.backup}\n`);
      if (r.losses.length) process.stdout.write(`losses reported until acknowledged (POST /api/store/losses/acknowledge, bearer token):\n${r.losses.map((l) => `  ${l}\n`).join('')}`);
      return 0;
    }
    case 'hash-password': {
      const password = process.argv[3] ?? (await readStdin()).trim();
      if (!password) throw new EvalUsageError('usage: choco-edge hash-password <password>   (or the password on standard input)');
      process.stdout.write(`${hashPassword(password)}\n`);
      return 0;
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof EvalUsageError || error instanceof BackupError || error instanceof StoreOpenError || error instanceof InputError) {
      process.stderr.write(`choco-edge: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`choco-edge: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
