import type { ComponentHealth } from '../util/health.js';

/** One field device as the status page lists it: what it is for, the protocol it speaks, its health. */
export interface FieldDevice {
  name: string;
  protocol: 'modbus' | 'opcua';
  role: 'sensors' | 'line';
  state: string;
  code: string | null;
  message: string;
}

/**
 * The field devices of the Modbus and OPC UA plugins (sensor devices and line PLCs) from their health details
 * (`details.devices` of the sensor plugins, `details.<line>` of the line plugins), in that order.
 */
export function fieldDevices(plugins: Record<string, ComponentHealth>): FieldDevice[] {
  const out: FieldDevice[] = [];
  const sensors = (plugin: string, protocol: FieldDevice['protocol']) => {
    const devices = (plugins[plugin]?.details?.devices ?? {}) as Record<string, { state?: string; code?: string; message?: string }>;
    for (const [name, d] of Object.entries(devices)) out.push({ name, protocol, role: 'sensors', state: d.state ?? 'starting', code: d.code ?? null, message: d.message ?? '' });
  };
  const lines = (plugin: string, protocol: FieldDevice['protocol']) => {
    const h = plugins[plugin];
    if (!h || h.state === 'disabled') return;
    for (const [name, d] of Object.entries((h.details ?? {}) as Record<string, { state?: string; code?: string | null; failures?: number }>)) {
      out.push({ name, protocol, role: 'line', state: d.state ?? h.state, code: d.code ?? null, message: h.message.split('; ').find((m) => m.startsWith(`${name}: `))?.slice(name.length + 2) ?? '' });
    }
  };
  sensors('modbus-sensors', 'modbus');
  sensors('opcua-sensors', 'opcua');
  lines('modbus-lines', 'modbus');
  lines('opcua-lines', 'opcua');
  return out;
}
