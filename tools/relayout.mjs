#!/usr/bin/env node
/**
 * Moves files to the folder layout of docs/architecture.md and rewrites every path that names them, so the tree still
 * type-checks. Plain Node, no dependencies. Run from anywhere inside the repository:
 *
 *   node tools/relayout.mjs            # preflight, `git mv`, rewrite references, report
 *   node tools/relayout.mjs --dry-run  # report what would happen, change nothing
 *   node tools/relayout.mjs --check    # after the run: tsc --noEmit and the dependency rules
 *   --allow-dirty   run on a work tree with uncommitted changes
 *   --allow-loose   go on although files outside the move map sit where the map empties folders
 *
 * What it rewrites:
 *  - in code (.ts .mts .js .mjs .cjs under gateway/ plugins/ models/ test/ tools/, and root configs): every quoted
 *    string that starts with ./ or ../ and names a file or folder of the tree — import/export specifiers, dynamic
 *    import(), vi.mock(), new URL('…', import.meta.url), fileURLToPath paths. A specifier still pointing at an old
 *    path whose new file exists (a file merged in after an earlier run) is rewritten too.
 *  - in text (package.json, tsconfig*.json, vitest.config.ts, README.md, docs/, models/README.md, .ci/, deploy/) and in
 *    code comments/strings: repository-root paths of moved files (`gateway/bus.ts`, `./gateway/x.ts`, `dist/gateway/x.js`)
 *    and the renamed folders of DIR_RENAMES.
 *  - relative Markdown links in .md files.
 *
 * Idempotent: a move whose source is gone and whose target exists counts as done; a second run changes nothing.
 * Exit codes: 0 done, 1 unresolved references after the run (fix them by hand), 2 bad map or conflict (nothing
 * changed), 3 loose files the map does not cover (nothing changed; add them to MOVES or pass --allow-loose).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, posix } from 'node:path';

/** old path → new path, repository-relative. Order does not matter. */
export const MOVES = [
  // time/: clock, time zones, calendar
  ['gateway/tz.ts', 'gateway/time/tz.ts'],
  ['gateway/clock.ts', 'gateway/time/clock.ts'],
  ['gateway/calendar.ts', 'gateway/time/calendar.ts'],
  // util/: what every layer uses
  ['gateway/errors.ts', 'gateway/util/errors.ts'],
  ['gateway/log.ts', 'gateway/util/log.ts'],
  ['gateway/version.ts', 'gateway/util/version.ts'],
  ['gateway/health.ts', 'gateway/util/health.ts'],
  ['gateway/fetcher.ts', 'gateway/util/fetcher.ts'],
  // series/: the slot type, the LevelDB store, backup, status
  ['gateway/series.ts', 'gateway/series/slots.ts'],
  ['gateway/store/series-store.ts', 'gateway/series/store.ts'],
  ['gateway/store/backup.ts', 'gateway/series/backup.ts'],
  ['gateway/series-status.ts', 'gateway/series/status.ts'],
  // modbus/: the client both Modbus plugins share
  ['plugins/modbus-client.ts', 'gateway/modbus/client.ts'],
  // weather/: the combined view and its payloads
  ['gateway/weather.ts', 'gateway/weather/view.ts'],
  ['gateway/weather-payloads.ts', 'gateway/weather/payloads.ts'],
  // core/: event bus, plugin API and host, scheduler, alerts, sd_notify
  ['gateway/bus.ts', 'gateway/core/event-bus.ts'],
  ['gateway/plugin.ts', 'gateway/core/plugin-api.ts'],
  ['gateway/scheduler.ts', 'gateway/core/scheduler.ts'],
  ['gateway/sd-notify.ts', 'gateway/core/sd-notify.ts'],
  // sources/: the day-source and weather-source engines, payload checks
  ['gateway/day-source.ts', 'gateway/sources/day-source.ts'],
  ['gateway/weather-source.ts', 'gateway/sources/weather-source.ts'],
  ['plugins/price-checks.ts', 'gateway/sources/price-checks.ts'],
  // inference/: what the running gateway does with models
  ['gateway/legacy.ts', 'gateway/inference/prototype-scores.ts'],
  ['gateway/inference/random.ts', 'gateway/inference/seeded-random.ts'],
  // the composition root keeps the built-in plugin list
  ['gateway/plugins.ts', 'gateway/builtin-plugins.ts'],
  // models/eval/: offline evaluation, backtests, dataset loaders
  ['gateway/inference/eval-cli.ts', 'models/eval/cli.ts'],
  ['gateway/inference/datasets.ts', 'models/eval/datasets.ts'],
  ['gateway/inference/recommender-eval.ts', 'models/eval/recommender.ts'],
  ['gateway/planner/simulate.ts', 'models/eval/simulate.ts'],
  ['gateway/planner/hindsight.ts', 'models/eval/hindsight.ts'],
  // added on the merged main (i10, i11, i13, i14a, i14b, i15a, i15b)
  ['gateway/payload-checks.ts', 'gateway/sources/payload-checks.ts'],
  ['gateway/store/integrity.ts', 'gateway/series/integrity.ts'],
  ['gateway/store/write-gate.ts', 'gateway/series/write-gate.ts'],
  ['gateway/store/repair.ts', 'gateway/series/repair.ts'],
  ['gateway/store/readings.ts', 'gateway/series/readings.ts'],
  ['gateway/store/series-meta.ts', 'gateway/series/series-meta.ts'],
  ['gateway/health-watch.ts', 'gateway/core/health-watch.ts'],
  // config/load.ts reads the config file through it, so it sits in config/ (the tier above util/)
  ['gateway/cli-input.ts', 'gateway/config/cli-input.ts'],
  // the demo's directory and config build on the replay plugin's simulated sensor
  ['gateway/demo.ts', 'plugins/replay/demo.ts'],
  // offline rolling-origin evaluation (eval CLI, simulate); the runtime recalibration stays in inference/
  ['gateway/inference/price-rolling-eval.ts', 'models/eval/price-rolling.ts'],
  ['test/unit/store-disk-full.test.ts', 'test/series/store-disk-full.test.ts'],
  ['test/unit/store-damage.test.ts', 'test/series/store-damage.test.ts'],
  ['test/unit/readings.test.ts', 'test/series/readings.test.ts'],
  ['test/unit/topic-rules.test.ts', 'test/mqtt/topic-rules.test.ts'],
  ['test/unit/ridge.test.ts', 'test/inference/ridge.test.ts'],
  ['test/unit/demo-dir.test.ts', 'test/plugins/demo-dir.test.ts'],
  ['test/unit/readme.test.ts', 'test/docs/readme.test.ts'],
  // tests mirror the tree
  ['test/unit/config.test.ts', 'test/config/config.test.ts'],
  ['test/unit/fetcher.test.ts', 'test/util/fetcher.test.ts'],
  ['test/unit/models.test.ts', 'test/inference/models.test.ts'],
  ['test/unit/scheduler.test.ts', 'test/core/scheduler.test.ts'],
  ['test/unit/store.test.ts', 'test/series/store.test.ts'],
  ['test/unit/time-and-series.test.ts', 'test/time/time-and-series.test.ts'],
  ['test/planner/alerts.test.ts', 'test/plugins/planner-alerts.test.ts'],
  ['test/integration/kill9.test.ts', 'test/integration/kill9-store-writer.test.ts'],
];

/** Folders renamed as a whole, for folder mentions in text ("gateway/store/"). */
export const DIR_RENAMES = [['gateway/store/', 'gateway/series/']];

/** Files allowed at the top of gateway/: the composition root and the CLI. */
const GATEWAY_ROOT_FILES = new Set(['gateway/controller.ts', 'gateway/main.ts', 'gateway/builtin-plugins.ts']);
/** Folders the map empties: a file still there after the moves was added by someone the map does not know. */
const EMPTIED_DIRS = ['gateway/store/', 'test/unit/'];
/** Offline-looking names that should not stay in the runtime folders. */
const OFFLINE_HINT = /(^|\/)(gateway\/(inference|planner)\/.*(-eval|eval-|-train|train-|dataset|backtest|simulate|hindsight)[^/]*\.ts)$/;

/** Offline-looking names that the running gateway uses (its own recalibration): they stay. */
const RUNTIME_KEEP = new Set(['gateway/inference/price-eval.ts', 'gateway/inference/price-train.ts']);

const CODE_EXT = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);
const CODE_DIRS = ['gateway/', 'plugins/', 'models/', 'test/', 'tools/'];
const ROOT_CODE = new Set(['vitest.config.ts']);
const TEXT_FILE = (f) =>
  f === 'package.json' ||
  /^tsconfig[^/]*\.json$/.test(f) ||
  f === 'vitest.config.ts' ||
  /\.md$/.test(f) ||
  f.startsWith('.ci/') ||
  f.startsWith('deploy/');
const SKIP = new Set(['tools/relayout.mjs', '.dependency-cruiser.cjs', 'package-lock.json']);

const args = new Set(process.argv.slice(2));
const DRY = args.has('--dry-run');
const unknown = [...args].filter((a) => !['--dry-run', '--check', '--allow-dirty', '--allow-loose'].includes(a));
if (unknown.length) fail(2, `unknown option(s): ${unknown.join(' ')}`);

const ROOT = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
const git = (...a) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' });
const abs = (p) => join(ROOT, p);

function fail(code, message) {
  console.error(`relayout: ${message}`);
  process.exit(code);
}

// ---------------------------------------------------------------- preflight
const sources = new Map();
const targets = new Map();
for (const [from, to] of MOVES) {
  if (sources.has(from)) fail(2, `${from} is moved twice`);
  if (targets.has(to)) fail(2, `${to} is the target of ${targets.get(to)} and ${from}`);
  sources.set(from, to);
  targets.set(to, from);
}
if (!args.has('--allow-dirty') && git('status', '--porcelain').trim()) fail(2, 'the work tree has uncommitted changes (commit them, or pass --allow-dirty)');

const listFiles = () =>
  new Set(
    (git('ls-files', '-z') + git('ls-files', '-z', '-o', '--exclude-standard'))
      .split('\0')
      .filter((f) => f && existsSync(abs(f)) && !f.startsWith('node_modules/')),
  );
const before = listFiles();
const dirsBefore = new Set([...before].flatMap((f) => f.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));

const todo = [];
const done = [];
const missing = [];
for (const [from, to] of MOVES) {
  const hasFrom = before.has(from);
  const hasTo = before.has(to);
  if (hasFrom && hasTo) fail(2, `both ${from} and ${to} exist; merge them by hand, then run again`);
  if (hasFrom) todo.push([from, to]);
  else if (hasTo) done.push([from, to]);
  else missing.push([from, to]);
}

const loose = [];
for (const f of before) {
  if (sources.has(f)) continue;
  if (/^gateway\/[^/]+$/.test(f) && !GATEWAY_ROOT_FILES.has(f)) loose.push(`${f}  (loose in gateway/: give it a folder)`);
  else if (/^plugins\/[^/]+\.ts$/.test(f)) loose.push(`${f}  (loose in plugins/: a plugin gets a folder; shared code goes under gateway/)`);
  else if (EMPTIED_DIRS.some((d) => f.startsWith(d))) loose.push(`${f}  (left in ${f.split('/').slice(0, -1).join('/')}/, which the map empties)`);
  else if (OFFLINE_HINT.test(f) && !RUNTIME_KEEP.has(f)) loose.push(`${f}  (looks offline: models/eval/ or models/train/?)`);
}
if (loose.length) {
  console.error(`relayout: ${loose.length} file(s) the move map does not cover:\n  ${loose.join('\n  ')}`);
  if (!args.has('--allow-loose')) fail(3, 'add them to MOVES in tools/relayout.mjs (or pass --allow-loose), then run again; nothing was changed');
}

// ---------------------------------------------------------------- path helpers
const thisRun = new Map(todo);
const newPathOf = (p) => sources.get(p) ?? p;
const mapDir = (d) => {
  const withSlash = d.endsWith('/') ? d : `${d}/`;
  for (const [from, to] of DIR_RENAMES) if (withSlash.startsWith(from)) return (to + withSlash.slice(from.length)).replace(/\/$/, d.endsWith('/') ? '/' : '');
  return d;
};

/** What a relative specifier written in `file` names: {kind:'file'|'dir', path} (old tree), or undefined. */
function resolveSpecifier(file, spec) {
  const clean = spec.replace(/[?#].*$/, '');
  const base = posix.normalize(posix.join(posix.dirname(file), clean));
  if (base.startsWith('..')) return undefined;
  const known = (p) => before.has(p) || sources.has(p);
  const ext = extname(base);
  const candidates = [];
  if (ext === '.js') candidates.push(base.slice(0, -3) + '.ts', base.slice(0, -3) + '.tsx');
  if (ext === '.mjs') candidates.push(base.slice(0, -4) + '.mts');
  if (ext === '.cjs') candidates.push(base.slice(0, -4) + '.cts');
  candidates.push(base);
  for (const c of candidates) if (known(c)) return { kind: 'file', path: c, suffix: spec.slice(clean.length) };
  const dir = base.replace(/\/$/, '');
  if (dir === '.' || dirsBefore.has(dir)) return { kind: 'dir', path: dir, suffix: spec.slice(clean.length) };
  return undefined;
}

function specifierFor(fromFile, target, originalSpec, suffix) {
  let rel = posix.relative(posix.dirname(fromFile), target.path === '.' ? '' : target.path) || '.';
  if (!rel.startsWith('.')) rel = `./${rel}`;
  if (target.kind === 'dir') {
    if (/\/(?:[?#].*)?$/.test(originalSpec) && !rel.endsWith('/')) rel += '/';
    return rel + suffix;
  }
  const origExt = extname(originalSpec.slice(0, originalSpec.length - suffix.length));
  const targetExt = extname(target.path);
  if (origExt && origExt !== targetExt) rel = rel.slice(0, -targetExt.length) + origExt;
  if (!origExt) rel = rel.slice(0, -targetExt.length);
  return rel + suffix;
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Repository-root path mentions in text: not preceded by a path character (a leading "./" is fine). */
const mention = (p) => new RegExp(`(?<=(?:^|[^\\w/.-])(?:\\./)?)${escapeRe(p)}(?![\\w-])`, 'gm');
const textRules = [
  ...[...sources].flatMap(([from, to]) => [
    [mention(from), to],
    [mention(`dist/${from.replace(/\.ts$/, '.js')}`), `dist/${to.replace(/\.ts$/, '.js')}`],
  ]),
  ...DIR_RENAMES.map(([from, to]) => [mention(from), to]),
].sort((a, b) => b[0].source.length - a[0].source.length);

// ---------------------------------------------------------------- rewrite
const isCode = (f) => CODE_EXT.has(extname(f)) && (CODE_DIRS.some((d) => f.startsWith(d)) || ROOT_CODE.has(f));
const QUOTED_RELATIVE = /(['"`])(\.\.?\/[^'"`\n]*?)\1/g;
const MD_LINK = /(\]\()(?!https?:|#|mailto:)([^)\s]+)(\))/g;

const edits = new Map(); // new path → new content
const unresolved = [];
let specifierChanges = 0;
let textChanges = 0;

for (const oldFile of [...before].sort()) {
  if (SKIP.has(oldFile) || oldFile.startsWith('test/fixtures/') || oldFile.includes('/sample/')) continue;
  const code = isCode(oldFile);
  const md = extname(oldFile) === '.md';
  if (!code && !md && !TEXT_FILE(oldFile)) continue;
  const newFile = thisRun.get(oldFile) ?? oldFile;
  const original = readFileSync(abs(oldFile), 'utf8');
  let text = original;
  const rewrite = (spec) => {
    if (spec.includes('${')) return spec;
    const target = resolveSpecifier(oldFile, spec);
    if (!target) {
      if (thisRun.has(oldFile) && /\.(m?[jt]s|json|csv|py|ya?ml|gz)$/.test(spec)) unresolved.push(`${newFile}: '${spec}' names nothing in the tree`);
      return spec;
    }
    const moved = target.kind === 'file' ? { ...target, path: newPathOf(target.path) } : { ...target, path: mapDir(target.path) };
    if (target.kind === 'file' && !before.has(target.path) && !before.has(moved.path)) {
      unresolved.push(`${newFile}: '${spec}' names ${target.path}, which is gone, and ${moved.path} does not exist`);
      return spec;
    }
    if (moved.path === target.path && newFile === oldFile) return spec;
    const next = specifierFor(newFile, moved, spec, target.suffix);
    if (next !== spec) specifierChanges++;
    return next;
  };
  if (code) text = text.replace(QUOTED_RELATIVE, (all, q, spec) => `${q}${rewrite(spec)}${q}`);
  if (md) text = text.replace(MD_LINK, (all, open, spec, close) => (spec.startsWith('.') || spec.includes('/') ? `${open}${rewrite(spec)}${close}` : all));
  for (const [re, to] of textRules) {
    text = text.replace(re, () => {
      textChanges++;
      return to;
    });
  }
  if (text !== original || newFile !== oldFile) edits.set(newFile, { oldFile, text, changed: text !== original });
}

// ---------------------------------------------------------------- report and apply
const out = [];
out.push(`moves: ${todo.length} to do, ${done.length} already done, ${missing.length} missing`);
for (const [from, to] of todo) out.push(`  move  ${from} → ${to}`);
for (const [from, to] of missing) out.push(`  MISSING (skipped): ${from} (target ${to} absent too)`);
out.push(`references: ${specifierChanges} relative specifier(s), ${textChanges} root-path mention(s) in ${[...edits.values()].filter((e) => e.changed).length} file(s)`);
for (const [f, e] of edits) if (e.changed) out.push(`  edit  ${f}`);
if (loose.length) out.push(`loose (not moved, --allow-loose):\n  ${loose.join('\n  ')}`);
if (unresolved.length) out.push(`UNRESOLVED (fix by hand):\n  ${unresolved.join('\n  ')}`);
console.log(out.join('\n'));

if (DRY) {
  console.log('dry run: nothing changed');
  process.exit(unresolved.length ? 1 : 0);
}

const tracked = new Set(git('ls-files', '-z').split('\0'));
for (const [from, to] of todo) {
  mkdirSync(dirname(abs(to)), { recursive: true });
  if (tracked.has(from)) git('mv', from, to);
  else renameSync(abs(from), abs(to));
}
for (const [f, e] of edits) if (e.changed) writeFileSync(abs(f), e.text);

// Nothing may be left where the map emptied a folder, nor loose in gateway/.
const after = listFiles();
const leftovers = [...after].filter((f) => (/^gateway\/[^/]+$/.test(f) && !GATEWAY_ROOT_FILES.has(f)) || EMPTIED_DIRS.some((d) => f.startsWith(d)));
if (leftovers.length) console.log(`still loose after the run:\n  ${leftovers.join('\n  ')}`);

if (args.has('--check')) {
  for (const [cmd, cmdArgs] of [
    ['npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
    ['npx', ['depcruise', '--config', '.dependency-cruiser.cjs', 'gateway', 'plugins', 'models']],
  ]) {
    console.log(`$ ${cmd} ${cmdArgs.join(' ')}`);
    try {
      execFileSync(cmd, cmdArgs, { cwd: ROOT, stdio: 'inherit' });
    } catch {
      console.error('relayout: check failed (see above)');
      process.exitCode = 1;
    }
  }
}
if (unresolved.length) fail(1, `${unresolved.length} unresolved reference(s), listed above`);
