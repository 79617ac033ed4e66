// Child process of test/plugins/meters-opcua.test.ts: records every module specifier naming node-opcua that is
// resolved while the meters plugin and the built-in plugin list load, then while an OPC UA meter opens its session.
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const { port1, port2 } = new MessageChannel();
const seen = [];
port1.on('message', (m) => seen.push(m));
port1.unref();
const hook = `let port;
export async function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  if (specifier.includes('node-opcua')) port.postMessage(specifier);
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`, import.meta.url, { data: { port: port2 }, transferList: [port2] });
const settle = () => new Promise((r) => setTimeout(r, 100));

const { createMeters } = await import('../../plugins/meters/index.ts');
await import('../../gateway/builtin-plugins.ts');
const { OpcuaMeterSource } = await import('../../plugins/meters/opcua-source.ts');
await settle();
const atImport = [...seen];
const { pino } = await import('pino');
const log = pino({ level: 'silent' });
const source = new OpcuaMeterSource(
  { name: 'm', transport: 'opcua', maxBackoffMs: 1000, opcua: { endpointUrl: 'opc.tcp://127.0.0.1:9/x', security: 'None', securityPolicy: 'Basic256Sha256', auth: { type: 'anonymous' }, requestTimeoutMs: 500, sessionTimeoutMs: 5000, secureChannelLifetimeMs: 60000 } },
  { model: 'x', sources: [], nodes: { importKwh: { nodeId: 'nsu=urn:x;s=E', unit: 'kWh', scale: 1 }, kw: { nodeId: 'nsu=urn:x;s=P', unit: 'kW', scale: 1 } } },
  { opcua: { pkiDir: process.argv[2] }, dataDir: process.argv[2] },
  log,
);
const fault = await source.open().then(() => 'opened', (e) => e.code);
await settle();
process.stdout.write(JSON.stringify({ createMeters: typeof createMeters, atImport, afterOpen: seen, fault }));
process.exit(0);
