import { createServer } from 'node:net';
import { ConfigError, envName } from './load.js';
import type { Config } from './schema.js';

/**
 * Tries every port the configuration will listen on (HTTP, embedded MQTT over TCP, WebSocket and TLS) before
 * anything is opened, and refuses with the setting and its environment variable when one is taken.
 * Throws ConfigError; port 0 (any free port) is not checked.
 */
export async function checkListenPorts(config: Config, who: 'gateway' | 'demo'): Promise<void> {
  const wanted: Array<[string[], string, number]> = [];
  if (config.http.enabled) wanted.push([['http', 'port'], config.http.host, config.http.port]);
  const broker = config.mqtt.embedded;
  if (broker.enabled) {
    wanted.push([['mqtt', 'embedded', 'port'], broker.host, broker.port], [['mqtt', 'embedded', 'wsPort'], broker.host, broker.wsPort]);
    if (broker.tls) wanted.push([['mqtt', 'embedded', 'tls', 'port'], broker.host, broker.tls.port]);
  }
  for (const [path, host, port] of wanted) {
    if (!port) continue;
    const error = await new Promise<NodeJS.ErrnoException | undefined>((done) => {
      const server = createServer();
      server.once('error', (e: NodeJS.ErrnoException) => done(e));
      server.listen({ host, port, exclusive: true }, () => server.close(() => done(undefined)));
    });
    if (!error) continue;
    const cause = error.code === 'EADDRINUSE' ? 'the port is in use, perhaps by another gateway or demo' : error.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : (error.code ?? error.message);
    throw new ConfigError(`the ${who} cannot listen on ${host}:${port} (${path.join('.')}, ${envName(path)}): ${cause}; stop it or choose another port`, []);
  }
}
