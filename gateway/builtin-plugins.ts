import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { aemetPlugin } from '../plugins/aemet/index.js';
import { esiosDriversPlugin } from '../plugins/esios/drivers.js';
import { esiosPlugin } from '../plugins/esios/index.js';
import { homeAssistantPlugin } from '../plugins/homeassistant/index.js';
import { modbusLinesPlugin } from '../plugins/modbus-lines/index.js';
import { notifyPlugin } from '../plugins/notify/index.js';
import { sparkplugPlugin } from '../plugins/sparkplug/index.js';
import { uplinkPlugin } from '../plugins/uplink/index.js';
import { modbusSensorsPlugin } from '../plugins/modbus-sensors/index.js';
import { openWeatherMapPlugin } from '../plugins/openweathermap/index.js';
import { plannerPlugin } from '../plugins/planner/index.js';
import { predictionsPlugin } from '../plugins/predictions/index.js';
import { weatherCombinedPlugin } from '../plugins/weather-combined/index.js';
import { mqttOutputPlugin } from '../plugins/mqtt-output/index.js';
import { omiePlugin } from '../plugins/omie/index.js';
import { reePlugin } from '../plugins/ree/index.js';
import { replayPlugin } from '../plugins/replay/index.js';
import { replayWeatherPlugin } from '../plugins/replay/weather.js';
import { errorMessage } from './util/errors.js';
import { PLUGIN_API_VERSION, type PluginFactory } from './core/plugin-api.js';

export const BUILTIN_PLUGINS: PluginFactory[] = [
  reePlugin,
  esiosPlugin,
  esiosDriversPlugin,
  omiePlugin,
  aemetPlugin,
  openWeatherMapPlugin,
  replayPlugin,
  replayWeatherPlugin,
  modbusSensorsPlugin,
  weatherCombinedPlugin,
  predictionsPlugin,
  plannerPlugin,
  modbusLinesPlugin,
  sparkplugPlugin,
  homeAssistantPlugin,
  notifyPlugin,
  uplinkPlugin,
  mqttOutputPlugin,
];

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
