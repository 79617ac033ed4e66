import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { ConfigError, envName } from './load.js';
import type { Config } from './schema.js';

/** A port the configuration listens on that cannot be opened now: the one-sentence reason and the errno code. */
export interface PortProblem {
  message: string;
  code: string | undefined;
}

/**
 * Tries every port the configuration will listen on (HTTP, embedded MQTT over TCP, WebSocket and TLS), opening
 * and closing each at once, and returns those that cannot be opened, with the setting and its environment variable.
 * Port 0 (any free port) is not checked.
 */
export async function listenPortProblems(config: Config, who: 'gateway' | 'demo'): Promise<PortProblem[]> {
  const wanted: Array<[string[], string, number]> = [];
  if (config.http.enabled) wanted.push([['http', 'port'], config.http.host, config.http.port]);
  const broker = config.mqtt.embedded;
  if (broker.enabled && !config.mqtt.external.url) {
    wanted.push([['mqtt', 'embedded', 'port'], broker.host, broker.port], [['mqtt', 'embedded', 'wsPort'], broker.host, broker.wsPort]);
    if (broker.tls) wanted.push([['mqtt', 'embedded', 'tls', 'port'], broker.host, broker.tls.port]);
  }
  const problems: PortProblem[] = [];
  for (const [path, host, port] of wanted) {
    if (!port) continue;
    const error = await new Promise<NodeJS.ErrnoException | undefined>((done) => {
      const server = createServer();
      server.once('error', (e: NodeJS.ErrnoException) => done(e));
      server.listen({ host, port, exclusive: true }, () => server.close(() => done(undefined)));
    });
    if (!error) continue;
    const cause = error.code === 'EADDRINUSE' ? 'the port is in use, perhaps by another gateway or demo' : error.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : (error.code ?? error.message);
    problems.push({ message: `the ${who} cannot listen on ${host}:${port} (${path.join('.')}, ${envName(path)}): ${cause}; stop it or choose another port`, code: error.code });
  }
  return problems;
}

/** Refuses (ConfigError) with the first port `start` or `demo` cannot open, before anything is opened. */
export async function checkListenPorts(config: Config, who: 'gateway' | 'demo'): Promise<void> {
  const [first] = await listenPortProblems(config, who);
  if (first) throw new ConfigError(first.message, []);
}

/**
 * What `check-config` says about the ports: what `start` would refuse is refused the same way (ConfigError, exit 2),
 * except when the ports are taken by a choco-edge answering on the configured HTTP port: checking a new
 * configuration for the running gateway before `systemctl restart` is the normal case, and the restart frees them.
 * Then the warnings are returned.
 */
export async function checkConfigPorts(config: Config): Promise<string[]> {
  const problems = await listenPortProblems(config, 'gateway');
  if (!problems.length) return [];
  const running = problems.every((p) => p.code === 'EADDRINUSE') ? await runningGateway(config) : null;
  if (!running) throw new ConfigError(problems[0]!.message, []);
  return problems.map((p) => `${p.message.replace(/: the port is in use, perhaps by another gateway or demo; stop it or choose another port$/, '')}: the port is in use by the choco-edge ${running} answering on it; \`start\` refuses it while that one runs (\`systemctl restart choco-edge\` stops it first)`);
}

/** The version of a choco-edge answering GET /health on the configured HTTP port, or null (1.5 s at most). */
function runningGateway(config: Config): Promise<string | null> {
  if (!config.http.enabled) return Promise.resolve(null);
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  const tls = Boolean((config.http as { tls?: unknown }).tls);
  const request = tls ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request({ host, port: config.http.port, path: '/health', method: 'GET', timeout: 1500, ...(tls ? { rejectUnauthorized: false } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body = (body + c).slice(0, 4096)));
      res.on('end', () => {
        try {
          const parsed = JSON.parse(body) as { status?: unknown; version?: unknown };
          resolve(res.statusCode === 200 && parsed.status === 'ok' && typeof parsed.version === 'string' ? parsed.version : null);
        } catch {
          resolve(null);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}
