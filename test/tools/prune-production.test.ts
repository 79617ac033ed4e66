import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Issue #24 (install size): tools/prune-production.mjs deletes the TF.js builds Node never loads. Checked on a copy of
 * this checkout's TF.js packages (the other packages linked, not copied): the shipped networks, loaded and run on the
 * WASM backend as the gateway runs them, give the same numbers before and after, and a step of training still runs.
 */
const repo = fileURLToPath(new URL('../..', import.meta.url));
const modules = join(repo, 'node_modules');

/** A node_modules with real copies of the @tensorflow packages and links to everything else. */
function tree(copyTf: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'choco-prune-'));
  const nm = join(dir, 'node_modules');
  mkdirSync(nm);
  for (const entry of readdirSync(modules)) {
    if (entry === '@tensorflow') {
      // The four packages the gateway depends on (a development tree may hold others, left over).
      mkdirSync(join(nm, entry));
      for (const p of ['tfjs-core', 'tfjs-layers', 'tfjs-backend-cpu', 'tfjs-backend-wasm']) {
        if (copyTf) cpSync(join(modules, entry, p), join(nm, entry, p), { recursive: true });
        else symlinkSync(join(modules, entry, p), join(nm, entry, p));
      }
    } else if (!entry.startsWith('.')) symlinkSync(join(modules, entry), join(nm, entry));
  }
  return dir;
}

/** What the gateway does (backend.ts, registry): import core, layers and the WASM backend, load a network, predict, fit once. */
const RUN = `
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
const tf = { ...(await import('@tensorflow/tfjs-core')), ...(await import('@tensorflow/tfjs-layers')) };
const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
const require = createRequire(import.meta.url);
setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
if (!(await tf.setBackend('wasm'))) throw new Error('no wasm backend');
await tf.ready();
const out = {};
for (const name of ['price-forecaster', 'production-recommender']) {
  const dir = join(process.argv[2], name, '1.0.0');
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const weights = readFileSync(join(dir, 'weights.bin'));
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) }));
  const width = model.inputs[0].shape[1];
  const x = tf.tensor2d(Array.from({ length: 2 * width }, (_, i) => Math.sin(i)), [2, width]);
  out[name] = Array.from(await model.predict(x).data());
  model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  const h = await model.fit(x, model.predict(x), { epochs: 1, verbose: 0 });
  out[name + '.fit'] = Number.isFinite(h.history.loss[0]);
}
out.backend = tf.getBackend();
console.log(JSON.stringify(out));
`;

const run = (dir: string) => {
  writeFileSync(join(dir, 'run.mjs'), RUN);
  return JSON.parse(execFileSync(process.execPath, [join(dir, 'run.mjs'), join(repo, 'models')], { cwd: dir, encoding: 'utf8' }).trim().split('\n').at(-1)!) as Record<string, unknown>;
};
const du = (path: string) => Number(execFileSync('du', ['-sk', path], { encoding: 'utf8' }).split('\t')[0]) / 1024;

describe('tools/prune-production.mjs', { timeout: 120_000 }, () => {
  it('removes the TF.js builds Node never loads, and the shipped networks still load, predict the same and train', () => {
    const before = run(tree(false));
    expect(before.backend).toBe('wasm');
    const pruned = tree(true);
    const mbBefore = du(join(pruned, 'node_modules/@tensorflow'));
    const log = execFileSync(process.execPath, [join(repo, 'tools/prune-production.mjs'), join(pruned, 'node_modules')], { encoding: 'utf8' });
    const mbAfter = du(join(pruned, 'node_modules/@tensorflow'));
    expect(log).toMatch(/prune-production: \d+\.\d MB removed from /);
    expect(mbBefore - mbAfter).toBeGreaterThan(60);
    expect(mbAfter).toBeLessThan(20);
    expect(readdirSync(join(pruned, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')).sort()).toEqual(['tf-backend-wasm.node.js', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm', 'tfjs-backend-wasm.wasm']);
    const after = run(pruned);
    expect(after).toEqual(before);
    expect(after['price-forecaster.fit']).toBe(true);
  });

  it('refuses a layout it does not know, and deletes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'choco-prune-odd-'));
    const pkg = join(dir, 'node_modules/@tensorflow/tfjs-core');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-core', version: '9.0.0', main: 'dist/index.js' }));
    writeFileSync(join(pkg, 'dist/index.js'), "module.exports = require('./ops.js');");
    writeFileSync(join(pkg, 'dist/ops.js'), '');
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [join(repo, 'tools/prune-production.mjs'), join(dir, 'node_modules')], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      status = (error as { status: number }).status;
      stderr = String((error as { stderr: string }).stderr);
    }
    expect(status).toBe(2);
    expect(stderr).toMatch(/tfjs-core@9\.0\.0: main "dist\/index\.js" is not an existing \.node\.js bundle; nothing pruned/);
    expect(readdirSync(join(pkg, 'dist')).sort()).toEqual(['index.js', 'ops.js']);
  });
});
