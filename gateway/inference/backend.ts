import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export interface BackendInfo {
  name: string;
  initMs: number;
  note: string;
}

let initialised: Promise<BackendInfo> | undefined;

/**
 * tfjs-node when it happens to be installed (it cannot install offline: its install script downloads
 * libtensorflow), otherwise the WASM backend, single-threaded (the threaded build does not start in Node 20).
 */
export function initBackend(preferNative = true): Promise<BackendInfo> {
  initialised ??= (async () => {
    const started = performance.now();
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
    const require = createRequire(import.meta.url);
    setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs WASM backend did not start');
    await tf.ready();
    return { name: 'wasm', initMs: performance.now() - started, note: '@tensorflow/tfjs-node not installed; WASM (single-threaded SIMD)' };
  })();
  return initialised;
}

export { tf };
