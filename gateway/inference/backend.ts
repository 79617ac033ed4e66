import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TF from './tf.js';

export type Tf = typeof TF;

export interface BackendInfo {
  name: string;
  initMs: number;
  note: string;
}

/**
 * TF.js (tfjs-core + tfjs-layers, see tf.ts), loaded on first use: `undefined` until `loadTf()` or `initBackend()`
 * has resolved (a live binding: importers see it once loaded). Every path that runs a network goes through
 * `initBackend()` first (the model registry, training, evaluation), so a gateway whose models are all linear
 * calibrations, or that has none, never pays TF.js's memory (about 25 MB of RSS).
 */
export let tf: Tf = undefined as unknown as Tf;
let loading: Promise<Tf> | undefined;

/** Imports TF.js once; no backend chosen yet (see initBackend). */
export function loadTf(): Promise<Tf> {
  loading ??= import('./tf.js').then((m) => (tf = m));
  return loading;
}

let initialised: Promise<BackendInfo> | undefined;

/**
 * tfjs-node when it happens to be installed (it cannot install offline: its install script downloads
 * libtensorflow), otherwise the WASM backend, single-threaded (the threaded build does not start in Node 20).
 * Loads TF.js on the first call.
 */
export function initBackend(preferNative = true): Promise<BackendInfo> {
  initialised ??= (async () => {
    const started = performance.now();
    const tf = await loadTf();
    if (preferNative) {
      try {
        const name = '@tensorflow/tfjs-node';
        await import(name);
        if (await tf.setBackend('tensorflow')) {
          await tf.ready();
          return { name: 'tensorflow', initMs: performance.now() - started, note: '@tensorflow/tfjs-node is installed' };
        }
      } catch {
        // not installed: the usual case on an offline box
      }
    }
    const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs WASM backend did not start');
    await tf.ready();
    return { name: 'wasm', initMs: performance.now() - started, note: '@tensorflow/tfjs-node not installed; WASM (single-threaded SIMD)' };
  })();
  return initialised;
}
