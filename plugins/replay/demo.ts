import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../gateway/config/load.js';
import type { Config } from '../../gateway/config/schema.js';
import { SIMULATED_POINTS, simulatedLines } from './simulated-sensor.js';
import { simulatedSiteMeterConfig } from './simulated-meter.js';
import { DEMO_CONTRACT } from './demo-contract.js';
import type { simulatedOpcuaConfig } from './simulated-opcua.js';

/** The file that marks a directory as the demo's own: only a directory holding it is ever emptied by the demo. */
export const DEMO_MARKER = '.choco-edge-demo';

/** What a demo writes in its directory (the marker, the store, recalibrated models, the OPC UA client and simulated PLC PKIs): the only entries it ever deletes. */
const DEMO_WRITES = new Set([DEMO_MARKER, 'store', 'models', 'opcua-pki', 'opcua-plc']);

/**
 * Gives the demo a directory of its own, `<dataDir>/demo`: created and marked (with this process's pid) on first
 * use; on the next run the demo's own entries (store, models) are deleted. Refused with a ConfigError, deleting
 * nothing: a data folder that is not a folder, a `demo` that is a file or symlink, a directory without the marker,
 * one whose marker names a demo process still running, and one that holds anything the demo does not write.
 * Returns the absolute path.
 */
export function prepareDemoDir(dataDir: string): string {
  const data = resolve(dataDir);
  if (existsSync(data) && !statSync(data).isDirectory()) throw new ConfigError(`the data folder ${data} (dataDir, CHOCO_EDGE_DATA_DIR) is a file, not a folder: point it at a folder`, []);
  const dir = resolve(data, 'demo');
  if (existsSync(dir) || isDanglingLink(dir)) {
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.isSymbolicLink()) throw new ConfigError(`the demo works in ${dir}, but that is not a directory the demo created; move it away or set CHOCO_EDGE_DATA_DIR to another folder`, []);
    const entries = readdirSync(dir);
    if (entries.length && !entries.includes(DEMO_MARKER)) {
      throw new ConfigError(`the demo works in ${dir}, which already holds files the demo did not create (${list(entries)}); it deletes nothing it did not write: move them away or set CHOCO_EDGE_DATA_DIR to another folder`, []);
    }
    const pid = markerPid(dir);
    if (pid !== undefined && pid !== process.pid && isRunning(pid)) {
      throw new ConfigError(`the demo directory ${dir} is in use by a running demo (pid ${pid}): stop it first, or set CHOCO_EDGE_DATA_DIR to another folder`, []);
    }
    const foreign = entries.filter((e) => !DEMO_WRITES.has(e));
    if (foreign.length) {
      throw new ConfigError(`the demo directory ${dir} also holds files the demo did not write (${list(foreign)}); it deletes nothing it did not write: move them away or set CHOCO_EDGE_DATA_DIR to another folder`, []);
    }
    for (const entry of entries) if (entry !== DEMO_MARKER) rmSync(join(dir, entry), { recursive: true, force: true });
  }
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, DEMO_MARKER), `Created by \`choco-edge demo\`, which deletes its store and models here at its next start. Nothing else lives here.\npid: ${process.pid}\n`);
  } catch (error) {
    throw new ConfigError(`the demo cannot create ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)}): check the data folder (dataDir, CHOCO_EDGE_DATA_DIR)`, []);
  }
  return dir;
}

/**
 * Throws a ConfigError when a port the demo listens on (HTTP, embedded MQTT and its WebSocket; 0 = any, skipped)
 * is taken, so that a demo that cannot start deletes nothing. Each port is bound for a moment and released.
 */
function list(entries: string[]): string {
  return `${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}`;
}

function markerPid(dir: string): number | undefined {
  try {
    const m = /^pid: (\d+)$/m.exec(readFileSync(join(dir, DEMO_MARKER), 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The configuration the demo runs with: replay on, live sources off, `demoDir` (from prepareDemoDir) as data directory, the simulated devices (Modbus ports, the site meter's port, or the simulated OPC UA PLC's configuration). */
export function demoConfig(configFile: string | undefined, demoDir: string, sensorPort?: number, plcPort?: number, meterPort?: number, opcua?: ReturnType<typeof simulatedOpcuaConfig>): Config {
  const base = loadConfig({ file: configFile });
  const config = loadConfig({
    file: configFile,
    overrides: {
      mqtt: { embedded: { allowAnonymous: true } },
      sources: { ree: { enabled: false }, esios: { enabled: false }, omie: { enabled: false }, aemet: { enabled: false }, openweathermap: { enabled: false }, replay: { enabled: true } },
      ...(sensorPort ? { modbus: { devices: [{ name: 'simulated-floor', host: '127.0.0.1', port: sensorPort, pollMs: 1000, timeoutMs: 5000, points: SIMULATED_POINTS }] } } : {}),
      ...(plcPort ? { lines: simulatedLines(base.planner.processes.map((p) => p.line), plcPort) } : {}),
      ...(meterPort ? { energy: { meters: [simulatedSiteMeterConfig(meterPort)], ...(base.energy.contract ? {} : { contract: DEMO_CONTRACT }) } } : {}),
      ...(opcua ? { opcua } : {}),
    },
  });
  // Set after loading: CHOCO_EDGE_DATA_DIR names the folder the demo's own subdirectory goes in, never the demo's store itself.
  return { ...config, dataDir: demoDir };
}
