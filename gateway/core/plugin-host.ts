import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../util/errors.js';
import type { ComponentHealth } from '../util/health.js';
import type { Logger } from '../util/log.js';
import type { EventBus } from './event-bus.js';
import { PLUGIN_API_VERSION, type Plugin, type PluginContext, type PluginFactory } from './plugin-api.js';

/** A plugin as the host keeps it: the running instance, or only the health that says why it is not running. */
export interface HostedPlugin {
  plugin?: Plugin;
  health: ComponentHealth;
}

export interface LoadedFactories {
  factories: PluginFactory[];
  problems: Array<{ file: string; error: string }>;
}

/** Loads external plugins: every .js/.mjs file in `dir` whose default export is a factory for this API version. */
export async function loadExternalPlugins(dir: string): Promise<LoadedFactories> {
  const factories: PluginFactory[] = [];
  const problems: LoadedFactories['problems'] = [];
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /\.(m?js)$/.test(f)).sort();
  } catch (error) {
    return { factories, problems: [{ file: dir, error: `cannot read plugin folder: ${errorMessage(error)}` }] };
  }
  for (const file of files) {
    const path = resolve(dir, file);
    try {
      const mod = (await import(pathToFileURL(path).href)) as { default?: PluginFactory };
      const f = mod.default;
      if (!f || typeof f.create !== 'function' || typeof f.name !== 'string') throw new Error('default export is not a plugin factory { name, apiVersion, enabled, create }');
      if (f.apiVersion !== PLUGIN_API_VERSION) throw new Error(`built for plugin API ${String(f.apiVersion)}, this gateway speaks ${PLUGIN_API_VERSION}`);
      factories.push(f);
    } catch (error) {
      problems.push({ file: path, error: errorMessage(error) });
    }
  }
  return { factories, problems };
}

/**
 * Starts every enabled plugin in order, each in its own containment: a plugin that is disabled (plugins.disabled,
 * or its own `enabled(config)`) is listed with why; one that throws while starting is listed as failed, announced
 * with `plugin.failed` on the bus, and the gateway carries on without it. External plugins from `config.plugins.dir`
 * start after `factories`; a file that is not a plugin for this API version is listed as failed too.
 */
export async function startPlugins(options: {
  factories: PluginFactory[];
  config: Config;
  bus: EventBus;
  log: Logger;
  /** A fresh context for the plugin of this name. */
  context: (name: string) => PluginContext;
  /** Filled as plugins start, so a plugin's catalog() already sees the plugins started before it. */
  hosted: Map<string, HostedPlugin>;
}): Promise<void> {
  const { config, bus, log, hosted } = options;
  let factories = options.factories;
  if (config.plugins.dir) {
    const { factories: extra, problems } = await loadExternalPlugins(config.plugins.dir);
    factories = [...factories, ...extra];
    for (const p of problems) {
      hosted.set(`external:${p.file}`, { health: { state: 'failed', message: p.error, code: 'plugin_failed' } });
      log.error({ file: p.file, err: p.error }, 'external plugin not loaded');
    }
  }
  for (const factory of factories) {
    if (config.plugins.disabled.includes(factory.name)) {
      hosted.set(factory.name, { health: { state: 'disabled', message: 'disabled in plugins.disabled' } });
      continue;
    }
    const enabled = factory.enabled(config);
    if (enabled !== true) {
      hosted.set(factory.name, { health: { state: 'disabled', message: enabled === false ? 'disabled in configuration' : enabled.reason } });
      continue;
    }
    try {
      const plugin = factory.create(options.context(factory.name));
      await plugin.start();
      hosted.set(factory.name, { plugin, health: plugin.health() });
    } catch (error) {
      const message = `failed to start: ${errorMessage(error)}`;
      hosted.set(factory.name, { health: { state: 'failed', message, code: 'plugin_failed' } });
      bus.emit('plugin.failed', { plugin: factory.name, error: message });
      log.error({ plugin: factory.name, err: errorMessage(error) }, 'plugin failed to start; the gateway carries on without it');
    }
  }
}

/** Stops the running plugins in reverse start order; a plugin that fails to stop is logged and the others still stop. */
export async function stopPlugins(hosted: ReadonlyMap<string, HostedPlugin>, log: Logger): Promise<void> {
  for (const [name, p] of [...hosted.entries()].reverse()) {
    await p.plugin?.stop().catch((e: unknown) => log.warn({ plugin: name, err: errorMessage(e) }, 'plugin stop failed'));
  }
}

/** Health of every hosted plugin: the running plugin's own, or the reason it is not running. */
export function hostedHealth(hosted: ReadonlyMap<string, HostedPlugin>): Record<string, ComponentHealth> {
  const out: Record<string, ComponentHealth> = {};
  for (const [name, p] of hosted) out[name] = p.plugin ? p.plugin.health() : p.health;
  return out;
}
