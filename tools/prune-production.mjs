#!/usr/bin/env node
// node tools/prune-production.mjs [node_modules]   (after `npm ci --omit=dev`; the Dockerfile runs it)
//
// TensorFlow.js ships every build of each package: browser bundles (plain, minified, ES2017, flat ESM), the ESM
// source tree, a WeChat mini-program build and a source map of each — about 85 MB of the 94 MB its four packages
// take. Node loads only each package's `main` (a self-contained CommonJS bundle, `dist/tf-*.node.js`), and the
// WASM backend its `.wasm` files from `dist/` (the path backend.ts gives setWasmPaths). This keeps, in the
// @tensorflow packages only: package.json, the LICENSE and README, `main`, `dist/*.wasm` and nested node_modules;
// and deletes the rest. Nothing else in the tree is touched.
//
// It refuses (exit 2, nothing deleted) when a package's layout is not the one above (a `main` that is missing, not a
// .node.js bundle, or requires a file of its own package): a new TF.js version is checked before it is pruned.
// test/tools/prune-production.test.ts prunes a copy and runs the shipped networks on it.
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm'];

const root = resolve(process.argv[2] ?? 'node_modules');
if (!existsSync(root)) {
  console.error(`prune-production: ${root} does not exist (run it after npm ci --omit=dev, with the node_modules folder)`);
  process.exit(2);
}

/** Bytes under a path (files only). */
function size(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((n, f) => n + size(join(path, f)), 0);
}

const plans = [];
for (const name of PACKAGES) {
  const dir = join(root, name);
  if (!existsSync(dir)) continue; // not installed (e.g. an optional backend): nothing to do
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const main = pkg.main && join(dir, pkg.main);
  if (!main || !/\.node\.js$/.test(main) || !existsSync(main)) {
    console.error(`prune-production: ${name}@${pkg.version}: main ${JSON.stringify(pkg.main)} is not an existing .node.js bundle; nothing pruned`);
    process.exit(2);
  }
  const own = [...readFileSync(main, 'utf8').matchAll(/require\(['"](\.[^'"]*)['"]\)/g)].map((m) => m[1]);
  if (own.length) {
    console.error(`prune-production: ${name}@${pkg.version}: its main requires files of its own (${own.slice(0, 3).join(', ')}); nothing pruned`);
    process.exit(2);
  }
  const keep = (rel) => rel === 'package.json' || /^(LICENSE|README)/i.test(rel) || rel === relative(dir, main) || /^dist\/[^/]+\.wasm$/.test(rel) || rel === 'node_modules' || rel.startsWith('node_modules/');
  const remove = [];
  const walk = (rel) => {
    const path = join(dir, rel);
    if (keep(rel)) return true;
    if (statSync(path).isDirectory()) {
      const kept = readdirSync(path).map((f) => walk(rel ? `${rel}/${f}` : f));
      if (kept.some(Boolean)) {
        // A directory that keeps something: only its other entries go (listed by the walk).
        return true;
      }
    }
    remove.push(path);
    return false;
  };
  // Collect only top-most removals: a directory with nothing kept goes whole.
  for (const f of readdirSync(dir)) walk(f);
  plans.push({ name, version: pkg.version, remove: remove.filter((p) => !remove.some((q) => q !== p && p.startsWith(`${q}/`))) });
}

let freed = 0;
for (const { name, version, remove } of plans) {
  let bytes = 0;
  for (const path of remove) {
    bytes += size(path);
    rmSync(path, { recursive: true, force: true });
  }
  freed += bytes;
  console.log(`${name}@${version}: ${(bytes / 1048576).toFixed(1)} MB of files Node never loads removed`);
}
console.log(`prune-production: ${(freed / 1048576).toFixed(1)} MB removed from ${root}`);
