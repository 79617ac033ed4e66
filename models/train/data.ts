// The loaders live with the runtime so that `choco-edge eval` can read the same files.
export * from '../eval/datasets.js';
