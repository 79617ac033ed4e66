import type { Config } from './schema.js';

/**
 * Names that must be unique across both field protocols, so nothing is written to the wrong place or twice:
 * a point name (it becomes series `sensor.<name>` and topic `sensors/<name>`), a sensor device name (the readings
 * store keeps one record per device per cycle under it) and a line (two writers would command one PLC line).
 * Returns `<path>: <why>` for each repeat, naming the first use.
 */
export function fieldNameProblems(config: Config): string[] {
  const problems: string[] = [];
  const unique = (what: string, entries: Array<[string, string]>) => {
    const first = new Map<string, string>();
    for (const [path, name] of entries) {
      const earlier = first.get(name);
      if (earlier) problems.push(`${path}: ${what} ${JSON.stringify(name)} is already used at ${earlier}`);
      else first.set(name, path);
    }
  };
  const devices: Array<['modbus' | 'opcua', Config['modbus']['devices'][number] | Config['opcua']['devices'][number]]> = [
    ...config.modbus.devices.map((d) => ['modbus', d] as ['modbus', typeof d]),
    ...config.opcua.devices.map((d) => ['opcua', d] as ['opcua', typeof d]),
  ];
  const index = { modbus: 0, opcua: 0 };
  const at = devices.map(([p]) => `/${p}/devices/${index[p]++}`);
  unique('device name', devices.map(([, d], i) => [`${at[i]}/name`, d.name]));
  unique('point name (series sensor.<name>, topic sensors/<name>)', devices.flatMap(([, d], i) => d.points.map((p, j) => [`${at[i]}/points/${j}/name`, p.name] as [string, string])));
  unique('line', [...config.lines.map((l, i) => [`/lines/${i}/line`, l.line] as [string, string]), ...config.opcua.lines.map((l, i) => [`/opcua/lines/${i}/line`, l.line] as [string, string])]);
  return problems;
}
