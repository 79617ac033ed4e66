// Issue 24: TF.js (and its 16 MB WASM heap) is loaded only when a network is used, not at start.
// This file runs in a worker of its own (vitest isolates files), so TF.js is loaded here only if this code loads it.
import { cpSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as backend from '../../gateway/inference/backend.js';
import { ModelRegistry, asNetwork, checkNetworkFiles } from '../../gateway/inference/registry.js';
import { SeriesStore } from '../../gateway/series/store.js';
import { pluginContext, silent, testConfig } from '../helpers/context.js';

const SHIPPED = new URL('../../models/', import.meta.url).pathname;

describe('networks load on first use', () => {
  let store: SeriesStore;
  let writable: string;
  beforeAll(async () => {
    store = await SeriesStore.open(mkdtempSync(join(tmpdir(), 'choco-lazy-')));
    writable = mkdtempSync(join(tmpdir(), 'choco-lazy-rw-'));
  });
  afterAll(() => store.close());

  it('the predictions plugin starts with both shipped networks listed and TF.js not loaded', async () => {
    const { createPredictions } = await import('../../plugins/predictions/index.js');
    const ctx = await pluginContext(testConfig('http://127.0.0.1:9'), '2025-11-30T12:00:00Z');
    const plugin = createPredictions(ctx);
    await plugin.start();
    expect(plugin.registry.loaded().map((m) => `${m.name}@${m.version}`)).toEqual(['price-forecaster@1.0.0', 'production-recommender@1.0.0']);
    expect(plugin.health().state).toBe('ok');
    // No prices stored: the predictions job refuses on its inputs, without loading a network.
    await expect(plugin.jobs!.predictions!()).rejects.toThrow(/no omie_es prices stored/);
    expect(backend.tf).toBeUndefined();
    expect(plugin.registry.backend).toBeUndefined();
    await plugin.stop();
    await ctx.close();
  });

  it('a deferred network says so when touched, loads with ready(), and then predicts like an eager one', async () => {
    const lazy = new ModelRegistry([{ path: SHIPPED, writable: false }], store, silent, () => Date.now(), 3, true);
    await lazy.refresh();
    expect(backend.tf).toBeUndefined();
    expect(lazy.get('production-recommender').version).toBe('1.0.0');
    expect(() => lazy.get('production-recommender').model).toThrow(/not loaded yet: await ready\('production-recommender'\)/);
    expect(JSON.parse(JSON.stringify(lazy.get('production-recommender'))).version).toBe('1.0.0');
    const entry = await lazy.ready('production-recommender');
    expect(lazy.backend?.name).toBe('wasm');
    expect(backend.tf).toBeDefined();
    const eager = new ModelRegistry([{ path: SHIPPED, writable: false }], store, silent, () => Date.now());
    await eager.refresh();
    const x = Array.from({ length: 3 }, (_, r) => Array.from({ length: asNetwork(entry.model, 'r').inputs[0]!.shape[1]! }, (_, i) => Math.sin(r + i)));
    const predict = (m: ModelRegistry) => (asNetwork(m.get('production-recommender').model, 'r').predict(backend.tf.tensor2d(x)) as import('../../gateway/inference/tf.js').Tensor).arraySync();
    expect(predict(lazy)).toEqual(predict(eager));
    // Once TF.js is loaded, a lazy registry loads new versions at refresh as an eager one does.
    expect(lazy.get('price-forecaster').version).toBe('1.0.0');
    const again = new ModelRegistry([{ path: SHIPPED, writable: false }], store, silent, () => Date.now(), 3, true);
    again.backend = lazy.backend;
    await again.refresh();
    expect(() => again.get('price-forecaster').model).not.toThrow();
    lazy.dispose();
    eager.dispose();
    again.dispose();
  });

  it('refuses a broken network at refresh without TF.js: wrong input width, short weights; the previous version stays', async () => {
    const copy = (version: string) => {
      const dir = join(writable, 'price-forecaster', version);
      cpSync(join(SHIPPED, 'price-forecaster', '1.0.0'), dir, { recursive: true });
      const card = JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8'));
      writeFileSync(join(dir, 'card.json'), JSON.stringify({ ...card, version }));
      return { dir, card };
    };
    const short = copy('1.1.0');
    truncateSync(join(short.dir, 'weights.bin'), 1000);
    expect(() => checkNetworkFiles({ dir: short.dir, card: short.card })).toThrow(/weight files hold 1000 bytes, the manifest describes 46476/);
    const wide = copy('1.2.0');
    expect(() => checkNetworkFiles({ dir: wide.dir, card: { ...wide.card, inputs: [...wide.card.inputs, 'extra'] } })).toThrow(/model takes 70 inputs, its card lists 71/);
    const r = new ModelRegistry([{ path: SHIPPED, writable: false }, { path: writable, writable: true }], store, silent, () => Date.now(), 3, true);
    // 1.2.0 is fine: it becomes active (deferred). Break it, as a newer 1.3.0 with a short file: 1.2.0 stays.
    await r.refresh();
    expect(r.get('price-forecaster').version).toBe('1.2.0');
    const broken = copy('1.3.0');
    truncateSync(join(broken.dir, 'weights.bin'), 4);
    await r.refresh();
    expect(r.get('price-forecaster').version).toBe('1.2.0');
    expect(r.problemList().map((p) => p.problem).join(' ')).toMatch(/1\.3\.0|weight files hold 4 bytes/);
  });
});
