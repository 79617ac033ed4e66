import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../gateway/config/load.js';
import type { Config } from '../../gateway/config/schema.js';
import { SIMULATED_POINTS, simulatedLines } from './simulated-sensor.js';

/** The file that marks a directory as the demo's own: only a directory holding it is ever emptied by the demo. */
export const DEMO_MARKER = '.choco-edge-demo';

/**
 * Gives the demo a directory of its own, `<dataDir>/demo`: created and marked on first use, emptied on the next
 * run only when it carries the marker. Anything else there (a file, a symlink, a directory the demo did not
 * create) is refused with a ConfigError and left untouched. Returns the absolute path.
 */
export function prepareDemoDir(dataDir: string): string {
  const dir = resolve(dataDir, 'demo');
  if (existsSync(dir) || isDanglingLink(dir)) {
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.isSymbolicLink()) throw new ConfigError(`the demo works in ${dir}, but that is not a directory the demo created; move it away or set CHOCO_EDGE_DATA_DIR to another folder`, []);
    const entries = readdirSync(dir);
    if (entries.length && !entries.includes(DEMO_MARKER)) {
      throw new ConfigError(`the demo works in ${dir}, which already holds files the demo did not create (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); it deletes nothing it did not write: move them away or set CHOCO_EDGE_DATA_DIR to another folder`, []);
    }
    for (const entry of entries) rmSync(join(dir, entry), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, DEMO_MARKER), 'Created by `choco-edge demo`, which empties this directory at its next start. Nothing else lives here.\n');
  return dir;
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The configuration the demo runs with: replay on, live sources off, `demoDir` (from prepareDemoDir) as data directory, the simulated devices. */
export function demoConfig(configFile: string | undefined, demoDir: string, sensorPort?: number, plcPort?: number): Config {
  const base = loadConfig({ file: configFile });
  const config = loadConfig({
    file: configFile,
    overrides: {
      mqtt: { embedded: { allowAnonymous: true } },
      sources: { ree: { enabled: false }, esios: { enabled: false }, omie: { enabled: false }, aemet: { enabled: false }, openweathermap: { enabled: false }, replay: { enabled: true } },
      ...(sensorPort ? { modbus: { devices: [{ name: 'simulated-floor', host: '127.0.0.1', port: sensorPort, pollMs: 1000, timeoutMs: 5000, points: SIMULATED_POINTS }] } } : {}),
      ...(plcPort ? { lines: simulatedLines(base.planner.processes.map((p) => p.line), plcPort) } : {}),
    },
  });
  // Set after loading: CHOCO_EDGE_DATA_DIR names the folder the demo's own subdirectory goes in, never the demo's store itself.
  return { ...config, dataDir: demoDir };
}
