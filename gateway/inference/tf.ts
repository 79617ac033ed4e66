// The TF.js the gateway uses: the ops, tensors, optimisers and io of tfjs-core, and the Layers API of tfjs-layers
// (what `@tensorflow/tfjs` re-exports, without its WebGL backend, graph-model converter and data bundles).
// Imported only through `loadTf()` in backend.ts, so that a gateway that runs no network never loads it.
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
