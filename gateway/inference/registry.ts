import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LayersModel } from './tf.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { SeriesStore } from '../series/store.js';
import { initBackend, tf, type BackendInfo } from './backend.js';
import { fileLoadHandler } from './io.js';
import { isLearCalibration, type LearCalibration } from './price-lear.js';

/** What a version holds: a TF.js network (model.json + weights) or a linear calibration made on the box (calibration.json). */
export type ModelArtifact = LayersModel | LearCalibration;

/** The network of a loaded model; throws for a calibration (for callers that only run networks). */
export function asNetwork(model: ModelArtifact, name: string): LayersModel {
  if (isLearCalibration(model)) throw new Error(`${name} is a linear calibration, not a network`);
  return model;
}

export interface ModelCard {
  name: string;
  version: string;
  created: string;
  featuresVersion: number;
  inputs: string[];
  maxInputAgeHours?: number;
  evaluation?: unknown;
  [key: string]: unknown;
}

export interface LoadedModel {
  name: string;
  version: string;
  dir: string;
  card: ModelCard;
  model: ModelArtifact;
  loadMs: number;
  loadedAt: number;
  inferences: number;
  lastInferenceAt: number | null;
  lastInferenceMs: number | null;
}

interface Candidate {
  version: string;
  dir: string;
  card: ModelCard;
  /** Versions in the writable folder (retrained on the box) may be pruned; shipped ones never are. */
  writable: boolean;
}

/** Orders versions like 1.2.10 > 1.2.9, and dated suffixes after their base. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  const pb = b.split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

/**
 * Finds `models/<name>/<version>/{model.json, weights, card.json}` in the shipped folder and in the data folder,
 * keeps one active version per model (newest unless pinned by a rollback), reloads when new versions appear,
 * and keeps the last `keep` retrained versions.
 */
/** Folders of the shipped models/ that hold offline code (training, evaluation), not models. */
const OFFLINE_FOLDERS = new Set(['train', 'eval']);

export class ModelRegistry {
  private readonly active = new Map<string, LoadedModel>();
  private readonly problems = new Map<string, string>();
  private readonly networks = new Map<string, { dir: string; version: string; model: LayersModel; trainedTo?: string | undefined }>();
  private readonly failedNetworks = new Set<string>();
  private retiredNetworks: LayersModel[] = [];
  backend?: BackendInfo;

  constructor(
    private readonly dirs: Array<{ path: string; writable: boolean }>,
    private readonly store: SeriesStore,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly keep = 3,
    /**
     * When true, a network version (model.json) is checked without TF.js at refresh (see `checkNetworkFiles`) and
     * loaded, TF.js and its backend with it, on first use (`ready`): until then its entry answers everything but
     * `model`. Only while TF.js is not loaded yet: once one network has run, later versions load at refresh as
     * before. The gateway's predictions plugin sets it, so that a box whose models have not run keeps TF.js
     * (tens of MB: the WASM heap, the library's code) out of memory.
     */
    private readonly lazyNetworks = false,
  ) {}

  /** Network versions checked but not loaded yet (lazyNetworks), by model name. */
  private readonly deferred = new Map<string, Candidate>();

  /**
   * Loads the deferred network of `name` (TF.js and its backend on the first one) and answers its entry; without a
   * deferred network, the entry as it is. Throws like `get` when `name` has no active version, and with the load
   * error when the network does not load (the entry is then dropped and the problem listed).
   */
  async ready(name: string): Promise<LoadedModel> {
    const c = this.deferred.get(name);
    if (c) {
      this.backend ??= await initBackend();
      if (this.deferred.get(name) === c) {
        try {
          await this.load(c, true);
        } catch (error) {
          this.deferred.delete(name);
          this.active.delete(name);
          this.problems.set(`${name}@${c.version}`, `failed to load: ${errorMessage(error)}`);
          this.log.error({ model: name, version: c.version, err: errorMessage(error) }, 'model failed to load');
          throw error;
        }
      }
    }
    return this.get(name);
  }

  candidates(name: string): Candidate[] {
    const out: Candidate[] = [];
    for (const { path, writable } of this.dirs) {
      const base = join(path, name);
      if (!existsSync(base)) continue;
      for (const version of readdirSync(base)) {
        const dir = join(base, version);
        if (!statSync(dir).isDirectory() || !existsSync(join(dir, 'card.json')) || !(existsSync(join(dir, 'model.json')) || existsSync(join(dir, 'calibration.json')))) continue;
        try {
          const card = JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8')) as ModelCard;
          if (card.name !== name || card.version !== version) throw new Error(`card says ${card.name}@${card.version}`);
          out.push({ version, dir, card, writable });
        } catch (error) {
          this.problems.set(`${name}@${version}`, `unreadable card: ${errorMessage(error)}`);
        }
      }
    }
    return out.sort((a, b) => compareVersions(a.version, b.version));
  }

  names(): string[] {
    const names = new Set<string>();
    for (const { path } of this.dirs) {
      if (!existsSync(path)) continue;
      for (const entry of readdirSync(path)) if (statSync(join(path, entry)).isDirectory() && !OFFLINE_FOLDERS.has(entry)) names.add(entry);
    }
    return [...names].sort();
  }

  /** Loads the wanted version of every model; call again to pick up new versions without a restart. */
  async refresh(): Promise<void> {
    if (!this.lazyNetworks) this.backend ??= await initBackend();
    for (const name of this.names()) {
      const candidates = this.candidates(name);
      if (!candidates.length) continue;
      const pinned = await this.pinnedVersion(name);
      const wanted = candidates.find((c) => c.version === pinned) ?? candidates.at(-1)!;
      const current = this.active.get(name);
      if (current?.version === wanted.version && current.dir === wanted.dir) continue;
      try {
        await this.load(wanted);
        this.prune(name, candidates);
      } catch (error) {
        this.problems.set(`${name}@${wanted.version}`, `failed to load: ${errorMessage(error)}`);
        this.log.error({ model: name, version: wanted.version, err: errorMessage(error) }, 'model failed to load; keeping the previous version');
      }
    }
  }

  /**
   * The version pinned for `name` in the store, or undefined. A pin the store cannot read (a garbled table) does not
   * stop the models: the newest version is used and the problem, with the store's remedy, is reported.
   */
  private async pinnedVersion(name: string): Promise<string | undefined> {
    try {
      const pinned = await this.store.getValue<string>(`model.${name}.pinned`);
      this.problems.delete(`${name} (pin)`);
      return pinned;
    } catch (error) {
      this.problems.set(`${name} (pin)`, `pinned version unreadable, the newest version is used: ${errorMessage(error)}`);
      this.log.error({ model: name, err: errorMessage(error) }, 'model pin unreadable from the store; the newest version is used');
      return undefined;
    }
  }

  private async load(c: Candidate, now = false): Promise<void> {
    const started = performance.now();
    let model: ModelArtifact | undefined;
    if (existsSync(join(c.dir, 'calibration.json'))) {
      const calibration = JSON.parse(readFileSync(join(c.dir, 'calibration.json'), 'utf8')) as unknown;
      if (!isLearCalibration(calibration)) throw new Error('calibration.json is not a lear-ensemble calibration');
      model = calibration;
    } else if (this.lazyNetworks && !this.backend && !now) {
      checkNetworkFiles(c);
    } else {
      model = await loadNetwork(c);
    }
    const previous = this.active.get(c.card.name);
    const wasDeferred = this.deferred.has(c.card.name);
    const entry = { name: c.card.name, version: c.version, dir: c.dir, card: c.card, loadMs: Math.round((performance.now() - started) * 10) / 10, loadedAt: this.now(), inferences: previous && now ? previous.inferences : 0, lastInferenceAt: null, lastInferenceMs: null } as Omit<LoadedModel, 'model'>;
    if (model) {
      this.active.set(c.card.name, { ...entry, model });
      this.deferred.delete(c.card.name);
    } else {
      // Not enumerable: spreading or serialising the entry never touches the network that is not there yet.
      const name = c.card.name;
      this.active.set(name, Object.defineProperty(entry, 'model', { enumerable: false, get: () => { throw new Error(`${name}@${c.version} is not loaded yet: await ready('${name}') first`); } }) as LoadedModel);
      this.deferred.set(name, c);
    }
    if (!wasDeferred) disposeArtifact(previous?.model);
    this.problems.delete(`${c.card.name}@${c.version}`);
    this.log.info({ model: c.card.name, version: c.version, backend: this.backend?.name ?? null, deferred: !model }, model ? 'model loaded' : 'model checked; its network loads on first use');
  }

  /**
   * The network (model.json) version of `name` that the recalibrated ensemble weighs as a member, loaded beside
   * whatever version is active (a calibration may be): the newest one, or the newest at or below a pinned version
   * (a rollback takes a newer network out of the ensemble too). `trainedTo` is the last day of its training data,
   * from its card. Loaded once per version; a version that fails to load is reported in `problemList`, not retried,
   * and the next older one is taken. A replaced network is freed at the next replacement, not at once, so that a
   * recalibration still running with it can finish.
   */
  async memberNetwork(name: string): Promise<{ version: string; model: LayersModel; trainedTo?: string | undefined } | undefined> {
    const pinned = await this.pinnedVersion(name);
    for (;;) {
      const networks = this.candidates(name).filter((c) => existsSync(join(c.dir, 'model.json')) && !this.failedNetworks.has(c.dir));
      const wanted = (pinned ? networks.filter((c) => compareVersions(c.version, pinned) <= 0) : networks).at(-1);
      const held = this.networks.get(name);
      if (!wanted || held?.dir === wanted.dir) return held;
      try {
        this.backend ??= await initBackend();
        const model = await loadNetwork(wanted);
        this.retiredNetworks.forEach((m) => m.dispose());
        this.retiredNetworks = held ? [held.model] : [];
        const trainedTo = (wanted.card.training as { to?: unknown } | undefined)?.to;
        const loaded = { dir: wanted.dir, version: wanted.version, model, trainedTo: typeof trainedTo === 'string' ? trainedTo : undefined };
        this.networks.set(name, loaded);
        return loaded;
      } catch (error) {
        // Not retried: the next older version is tried instead.
        this.failedNetworks.add(wanted.dir);
        this.problems.set(`${name}@${wanted.version}`, `failed to load as an ensemble member: ${errorMessage(error)}`);
      }
    }
  }

  /** Frees every loaded artifact (stop). */
  dispose(): void {
    for (const m of this.active.values()) if (!this.deferred.has(m.name)) disposeArtifact(m.model);
    this.deferred.clear();
    for (const n of this.networks.values()) n.model.dispose();
    this.retiredNetworks.forEach((m) => m.dispose());
    this.retiredNetworks = [];
    this.active.clear();
    this.networks.clear();
  }

  private prune(name: string, candidates: Candidate[]): void {
    const writable = candidates.filter((c) => c.writable);
    const activeVersion = this.active.get(name)?.version;
    for (const c of writable.slice(0, Math.max(0, writable.length - this.keep))) {
      if (c.version === activeVersion) continue;
      rmSync(c.dir, { recursive: true, force: true });
      this.log.info({ model: name, version: c.version }, 'old retrained model version removed');
    }
  }

  /** Makes the version before the active one active, and keeps it so across restarts. */
  async rollback(name: string): Promise<LoadedModel> {
    const current = this.get(name);
    const older = this.candidates(name).filter((c) => compareVersions(c.version, current.version) < 0);
    const target = older.at(-1);
    if (!target) throw new Error(`${name} has no version older than ${current.version} to roll back to`);
    await this.store.setValue(`model.${name}.pinned`, target.version);
    await this.load(target);
    return this.get(name);
  }

  /** Removes a pin: the newest version becomes active again. */
  async unpin(name: string): Promise<void> {
    await this.store.deleteValue(`model.${name}.pinned`);
    await this.refresh();
  }

  get(name: string): LoadedModel {
    const m = this.active.get(name);
    if (!m) throw new Error(`model ${name} is not loaded${this.problems.size ? ` (${[...this.problems.values()].join('; ')})` : ''}`);
    return m;
  }

  has(name: string): boolean {
    return this.active.has(name);
  }

  /** Times one inference and counts it. */
  run<T>(name: string, work: (model: ModelArtifact) => T): T {
    const m = this.get(name);
    const started = performance.now();
    const out = work(m.model);
    m.inferences++;
    m.lastInferenceAt = this.now();
    m.lastInferenceMs = Math.round((performance.now() - started) * 100) / 100;
    return out;
  }

  loaded(): LoadedModel[] {
    return [...this.active.values()];
  }

  problemList(): Array<{ model: string; problem: string }> {
    return [...this.problems.entries()].map(([model, problem]) => ({ model, problem }));
  }
}

/**
 * The checks `loadNetwork` makes, without TF.js: model.json parses, its first layer takes as many inputs as the card
 * lists (`batch_input_shape`, or the first kernel's rows), and the weight files hold exactly the bytes the manifest
 * describes. Throws with the reason. What it cannot see (a topology TF.js refuses) shows at the first use.
 */
export function checkNetworkFiles(c: { dir: string; card: ModelCard }): void {
  type Spec = { shape: number[]; dtype?: string };
  const json = JSON.parse(readFileSync(join(c.dir, 'model.json'), 'utf8')) as {
    modelTopology?: { config?: { layers?: Array<{ config?: { batch_input_shape?: Array<number | null> } }> } };
    weightsManifest?: Array<{ paths: string[]; weights: Spec[] }>;
  };
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw new Error('model.json has no weightsManifest');
  const specs = manifest.flatMap((g) => g.weights);
  const inputs = json.modelTopology?.config?.layers?.[0]?.config?.batch_input_shape?.[1] ?? specs[0]?.shape[0];
  if (inputs !== c.card.inputs.length) throw new Error(`model takes ${String(inputs)} inputs, its card lists ${c.card.inputs.length}`);
  const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
  const wanted = specs.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * (BYTES[w.dtype ?? 'float32'] ?? NaN), 0);
  const held = manifest.flatMap((g) => g.paths).reduce((n, p) => n + statSync(join(c.dir, p)).size, 0);
  if (held !== wanted) throw new Error(`weight files hold ${held} bytes, the manifest describes ${wanted}`);
}

/** A candidate's TF.js network, refused (and freed) when it does not take the inputs its card lists. */
async function loadNetwork(c: Candidate): Promise<LayersModel> {
  const network = await tf.loadLayersModel(fileLoadHandler(c.dir));
  const inputs = (network.inputs[0]?.shape ?? [])[1];
  if (inputs !== c.card.inputs.length) {
    network.dispose();
    throw new Error(`model takes ${String(inputs)} inputs, its card lists ${c.card.inputs.length}`);
  }
  return network;
}

export function disposeArtifact(model: ModelArtifact | undefined): void {
  if (model && !isLearCalibration(model)) model.dispose();
}
