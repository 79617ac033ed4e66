import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Clock } from '../../gateway/time/clock.js';
import type { SeriesStore } from '../../gateway/series/store.js';

/** The namespace of the simulated PLC; the demo's node ids name it (nsu=…), never its index. */
export const SIMULATED_OPCUA_URI = 'urn:choco-edge:demo:simulated-plc';

export interface SimulatedOpcuaPlc {
  endpointUrl: string;
  /** What the gateway wrote, by variable name (e.g. `conching.Command`). */
  values: Map<string, unknown>;
  /** kW of the lines whose `<line>.Command` says run (1): their `<line>.PowerSetpoint` (kW, powerScale 1), for the simulated site meter. */
  runningKw(): number;
  stop(): Promise<void>;
}

/**
 * The protocol the demo's simulated PLC can speak here: `opcua` needs node-opcua (the full OPC UA server), a
 * development dependency that a production install (`npm ci --omit=dev`) leaves out; without it the demo runs the
 * simulated Modbus PLC and `note` says why, in one sentence. `resolve` finds a package (throws when it is absent).
 */
export function demoPlcProtocol(requested: 'modbus' | 'opcua', resolve: (name: string) => string = createRequire(import.meta.url).resolve): { plc: 'modbus' | 'opcua'; note?: string } {
  if (requested !== 'opcua') return { plc: requested };
  try {
    resolve('node-opcua');
    return { plc: 'opcua' };
  } catch {
    return { plc: 'modbus', note: 'demo.plc is opcua but node-opcua (the simulated OPC UA PLC\'s server, a development dependency) is not installed here: the demo runs the simulated Modbus PLC instead (install it with `npm install node-opcua@2.182.2`, or run from a development checkout)' };
  }
}

/**
 * A SIMULATED OPC UA PLC for the demo only (`demo.plc: opcua`), on a free loopback port, offering Basic256Sha256
 * SignAndEncrypt only: variables `Floor.Temp` and `Floor.Rh` that follow the replayed outdoor weather (as the
 * simulated Modbus sensor does: a quarter of the outdoor swing around 21 °C / 50 %), and per line writable
 * `<line>.Command` (UInt16), `<line>.PowerSetpoint` (Double, kW), `<line>.ValidUntil` (DateTime), `<line>.Heartbeat`
 * (UInt16). Its own PKI lives in `pkiDir`; its certificate is copied into `trustInPki`/trusted/certs, as an engineer
 * trusts a PLC. Needs node-opcua, a development dependency (see demoPlcProtocol).
 */
export async function startSimulatedOpcuaPlc(store: () => SeriesStore | undefined, clock: Clock, lines: string[], pkiDir: string, trustInPki: string): Promise<SimulatedOpcuaPlc> {
  const ua = await import('node-opcua');
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  mkdirSync(pkiDir, { recursive: true });
  const server = new ua.OPCUAServer({
    port,
    hostname: '127.0.0.1',
    resourcePath: '/choco-edge/demo-plc',
    nodeset_filename: [ua.nodesets.standard],
    serverCertificateManager: new ua.OPCUACertificateManager({ rootFolder: join(pkiDir, 'server'), automaticallyAcceptUnknownCertificate: true }),
    userCertificateManager: new ua.OPCUACertificateManager({ rootFolder: join(pkiDir, 'user'), automaticallyAcceptUnknownCertificate: true }),
    securityPolicies: [ua.SecurityPolicy.Basic256Sha256],
    securityModes: [ua.MessageSecurityMode.SignAndEncrypt],
    serverInfo: { applicationUri: 'urn:choco-edge:demo:simulated-plc', productUri: 'choco-edge-simulated-plc' },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const ns = addressSpace.registerNamespace(SIMULATED_OPCUA_URI);
  const floor = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Floor' });
  const values = new Map<string, unknown>([
    ['Floor.Temp', 21],
    ['Floor.Rh', 50],
  ]);
  const variable = (parent: typeof floor, name: string, dataType: 'Double' | 'UInt16' | 'DateTime', writable: boolean) =>
    ns.addVariable({
      componentOf: parent,
      browseName: name.split('.').at(-1)!,
      nodeId: `s=${name}`,
      dataType,
      minimumSamplingInterval: 100,
      accessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      userAccessLevel: writable ? 'CurrentRead | CurrentWrite' : 'CurrentRead',
      value: {
        get: () => new ua.Variant({ dataType: ua.DataType[dataType], value: values.get(name) ?? (dataType === 'DateTime' ? new Date(0) : 0) }),
        set: (v: InstanceType<typeof ua.Variant>) => {
          values.set(name, v.value);
          return ua.StatusCodes.Good;
        },
      },
    });
  variable(floor, 'Floor.Temp', 'Double', false);
  variable(floor, 'Floor.Rh', 'Double', false);
  for (const line of lines) {
    const o = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: line });
    variable(o, `${line}.Command`, 'UInt16', true);
    variable(o, `${line}.PowerSetpoint`, 'Double', true);
    variable(o, `${line}.ValidUntil`, 'DateTime', true);
    variable(o, `${line}.Heartbeat`, 'UInt16', true);
  }
  // The floor follows the replayed outdoor weather, sampled once a real second.
  const outdoor = async (series: string, fallback: number): Promise<number> => (await store()?.read(series, clock.now() - 2 * 3_600_000, clock.now() + 1))?.at(-1)?.value ?? fallback;
  const timer = setInterval(() => {
    void (async () => {
      values.set('Floor.Temp', Math.round((21 + 0.25 * ((await outdoor('obs.replay.temp', 21)) - 21)) * 10) / 10);
      values.set('Floor.Rh', Math.round((50 + 0.25 * ((await outdoor('obs.replay.rh', 50)) - 50)) * 10) / 10);
    })().catch(() => undefined);
  }, 1000);
  timer.unref();
  await server.start();
  mkdirSync(join(trustInPki, 'trusted', 'certs'), { recursive: true });
  copyFileSync(join(pkiDir, 'server', 'own', 'certs', 'certificate.pem'), join(trustInPki, 'trusted', 'certs', 'simulated-plc.pem'));
  return {
    endpointUrl: `opc.tcp://127.0.0.1:${port}/choco-edge/demo-plc`,
    values,
    runningKw: () => lines.reduce((kw, line) => kw + (Number(values.get(`${line}.Command`)) === 1 ? Number(values.get(`${line}.PowerSetpoint`) ?? 0) : 0), 0),
    async stop() {
      clearInterval(timer);
      await server.shutdown(0);
    },
  };
}

/** The demo's OPC UA configuration for the simulated PLC: two floor points and one variable block per line. */
export function simulatedOpcuaConfig(endpointUrl: string, lines: string[]) {
  const id = (name: string) => `nsu=${SIMULATED_OPCUA_URI};s=${name}`;
  const endpoint = { endpointUrl, security: 'SignAndEncrypt' as const, securityPolicy: 'Basic256Sha256' as const };
  return {
    devices: [
      {
        name: 'simulated-floor',
        ...endpoint,
        publishingIntervalMs: 1000,
        storeMs: 1000,
        points: [
          { name: 'floor_temp', nodeId: id('Floor.Temp'), samplingMs: 1000, unit: 'degC' as const },
          { name: 'floor_rh', nodeId: id('Floor.Rh'), samplingMs: 1000, unit: 'percent' as const },
        ],
      },
    ],
    lines: lines.map((line) => ({
      line,
      ...endpoint,
      watchdogMs: 10_000,
      requestTimeoutMs: 5_000,
      nodes: { command: id(`${line}.Command`), powerSetpoint: id(`${line}.PowerSetpoint`), validUntil: id(`${line}.ValidUntil`), heartbeat: id(`${line}.Heartbeat`) },
    })),
  };
}
