import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { io } from './tf.js';
import { tf } from './backend.js';

const WEIGHTS_FILE = 'weights.bin';

/** Saves a tfjs model as `model.json` + `weights.bin` in `dir` (tfjs' own layout, loadable by any tfjs). */
export function fileSaveHandler(dir: string): io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    mkdirSync(dir, { recursive: true });
    const weights = artifacts.weightData ? Buffer.from(artifacts.weightData as ArrayBuffer) : Buffer.alloc(0);
    writeFileSync(join(dir, WEIGHTS_FILE), weights);
    const modelJson = {
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }],
    };
    writeFileSync(join(dir, 'model.json'), `${JSON.stringify(modelJson)}\n`);
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON', weightDataBytes: weights.length } };
  });
}

/** Loads `model.json` and its weight files from a folder on disk (tfjs' browser loaders need fetch or tfjs-node). */
export function fileLoadHandler(dir: string): io.IOHandler {
  return {
    load: async () => {
      const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
        modelTopology: object;
        format?: string;
        generatedBy?: string;
        weightsManifest: Array<{ paths: string[]; weights: io.WeightsManifestEntry[] }>;
      };
      const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
      const buffers = modelJson.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
      const all = Buffer.concat(buffers);
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}
