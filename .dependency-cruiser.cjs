/**
 * The folder order of choco-edge (docs/architecture.md): a folder may import itself and the folders in earlier tiers,
 * never a folder in its own tier or a later one, and no file may take part in an import circle. Type-only imports
 * count (tsPreCompilationDeps), so a circle through `import type` is a circle too.
 *
 * Run: npm run deps (also a step of npm test).
 */
const TIERS = [
  ['gateway/time'], //                 clock, time zones, calendar
  ['gateway/config'], //               config schema and loading
  ['gateway/util'], //                 errors, logging, version, health states, the HTTP fetcher and its retry policy
  ['gateway/contract'], //             the electricity supply contract: access tariff, period calendar, prices (data)
  ['gateway/series', 'gateway/modbus', 'gateway/opcua'], // slot type, LevelDB store, backup, series status | the shared Modbus client | the shared OPC UA client
  ['gateway/meters'], //               energy meters: profiles (data), decoding, counter checks, quarter-hours
  ['gateway/bill'], //                 the bill (energy, power, excess power, tax, VAT) and measured savings
  ['gateway/site-load'], //            the site's unplanned base load: profile and forecast
  ['gateway/mqtt'], //                 topic contract, connection (LWT), broker, bridge
  ['gateway/weather'], //              combined weather view and its payloads
  ['gateway/core'], //                 event bus, plugin API and host, scheduler, alerts, sd_notify
  ['gateway/sources'], //              day-source and weather-source engines, payload checks
  ['gateway/inference'], //            tfjs backend, model registry, runtime forecasting and recalibration
  ['gateway/planner'], //              tariffs, MILP, greedy fallback, plan document
  ['gateway/lines', 'gateway/floor'], // the line command core (line state, write cycle, watchdog, plugin wiring) | the floor-sensor core (report by exception, plugin shell)
  ['plugins', 'models'], //            features built on the runtime | offline training and evaluation
  ['gateway/http'], //                 HTTP API and status page (reads what the plugins publish)
  ['gateway/(?:controller|main|builtin-plugins)\\.ts'], // the composition root and the CLI
];

const folder = (f) => (f.endsWith('.ts') ? `^${f}$` : `^${f}/`);
const layerRules = TIERS.flatMap((tier, i) =>
  tier.flatMap((from) => {
    const higher = TIERS.slice(i).flat().filter((f) => f !== from);
    if (higher.length === 0) return [];
    return {
      name: `layer:${from.replace(/\\|\(\?:|\)|\.ts/g, '')}`,
      comment: `${from} may import only itself and the folders listed before it in .dependency-cruiser.cjs`,
      severity: 'error',
      from: { path: folder(from) },
      to: { path: higher.map(folder) },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle: the parts cannot be understood, tested or started one without the other.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-loose-gateway-files',
      comment: 'gateway/ holds only the composition root and the CLI at its top; every other file belongs in a folder.',
      severity: 'error',
      from: { path: '^gateway/[^/]+\\.ts$', pathNot: '^gateway/(?:controller|main|builtin-plugins)\\.ts$' },
      to: {},
    },
    {
      name: 'no-runtime-to-test',
      comment: 'Shipped code never imports test helpers.',
      severity: 'error',
      from: { path: '^(?:gateway|plugins|models)/' },
      to: { path: '^test/' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(?:node_modules|dist|gateway/http/status-page)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.json'] },
  },
};
