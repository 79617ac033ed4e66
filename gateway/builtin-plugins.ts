import { aemetPlugin } from '../plugins/aemet/index.js';
import { esiosDriversPlugin } from '../plugins/esios/drivers.js';
import { esiosPlugin } from '../plugins/esios/index.js';
import { homeAssistantPlugin } from '../plugins/homeassistant/index.js';
import { modbusLinesPlugin } from '../plugins/modbus-lines/index.js';
import { powerGuardPlugin } from '../plugins/power-guard/index.js';
import { siteLoadPlugin } from '../plugins/site-load/index.js';
import { opcuaLinesPlugin } from '../plugins/opcua-lines/index.js';
import { notifyPlugin } from '../plugins/notify/index.js';
import { sparkplugPlugin } from '../plugins/sparkplug/index.js';
import { uplinkPlugin } from '../plugins/uplink/index.js';
import { modbusSensorsPlugin } from '../plugins/modbus-sensors/index.js';
import { metersPlugin } from '../plugins/meters/index.js';
import { opcuaSensorsPlugin } from '../plugins/opcua-sensors/index.js';
import { openWeatherMapPlugin } from '../plugins/openweathermap/index.js';
import { plannerPlugin } from '../plugins/planner/index.js';
import { billPlugin } from '../plugins/bill/index.js';
import { predictionsPlugin } from '../plugins/predictions/index.js';
import { weatherCombinedPlugin } from '../plugins/weather-combined/index.js';
import { mqttOutputPlugin } from '../plugins/mqtt-output/index.js';
import { omiePlugin } from '../plugins/omie/index.js';
import { reePlugin } from '../plugins/ree/index.js';
import { replayPlugin } from '../plugins/replay/index.js';
import { replayWeatherPlugin } from '../plugins/replay/weather.js';
import type { PluginFactory } from './core/plugin-api.js';

/** The plugins shipped with the gateway, in start order (sources first, outputs last). */
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
  metersPlugin,
  opcuaSensorsPlugin,
  weatherCombinedPlugin,
  predictionsPlugin,
  plannerPlugin,
  billPlugin,
  modbusLinesPlugin,
  powerGuardPlugin,
  siteLoadPlugin,
  opcuaLinesPlugin,
  sparkplugPlugin,
  homeAssistantPlugin,
  notifyPlugin,
  uplinkPlugin,
  mqttOutputPlugin,
];
