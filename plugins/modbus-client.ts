import modbusSerial from 'modbus-serial';

// modbus-serial is CommonJS: its module object is the client class, and `.default` points back to it.
const ModbusRTU = modbusSerial.default;
export type ModbusClient = InstanceType<typeof ModbusRTU>;

export interface ModbusEndpoint {
  transport: 'tcp' | 'rtu';
  host?: string;
  port: number;
  path?: string;
  baudRate: number;
  unitId: number;
  timeoutMs: number;
}

/** A client connected over TCP or RTU with its unit id and timeout set; `label` names the device in errors. */
export async function connectModbus(e: ModbusEndpoint, label: string): Promise<ModbusClient> {
  const client = new ModbusRTU();
  if (e.transport === 'tcp') {
    if (!e.host) throw new Error(`${label}: tcp needs a host`);
    await client.connectTCP(e.host, { port: e.port });
  } else {
    if (!e.path) throw new Error(`${label}: rtu needs a serial path`);
    await client.connectRTUBuffered(e.path, { baudRate: e.baudRate });
  }
  client.setID(e.unitId);
  client.setTimeout(e.timeoutMs);
  return client;
}

export async function closeModbus(client: ModbusClient | undefined): Promise<void> {
  if (!client?.isOpen) return;
  await new Promise<void>((resolve) => client.close(() => resolve()));
}
