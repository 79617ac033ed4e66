import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { readSecret } from '../config/load.js';
import type { Logger } from '../util/log.js';
import { ConnectionGate } from '../util/connection-gate.js';
import { VERSION } from '../util/version.js';
import { tokenGuard } from './auth.js';
import { errorLabel, notFoundText, schemaErrorText } from './error-answers.js';
import type { HttpContext } from './context.js';
import { registerRoutes } from './routes.js';
import { registerWeatherRoutes } from './weather-routes.js';
import { registerModelRoutes } from './model-routes.js';
import { registerPlanRoutes } from './plan-routes.js';
import { registerBillRoutes } from './bill-routes.js';
import { registerEnergyRoutes } from './energy-routes.js';
import { registerOutputRoutes } from './output-routes.js';
import { registerUiRoutes } from './ui-routes.js';
import { registerMetrics } from './metrics.js';
import { strictBodies } from './strict-body.js';
import { calendarProblem } from '../time/calendar-date.js';
import swaggerUi from '@fastify/swagger-ui';
import { jsonDepthProblem } from './json-depth.js';

export interface HttpServer {
  app: FastifyInstance;
  /** Admission on the port: open connections and refusals (config `http.limits`). */
  gate: ConnectionGate;
  url: string;
  close(): Promise<void>;
}

type NumberProps = { properties?: Record<string, { type?: string }> };
/** How long a stop lets requests in flight finish before their connections are cut. */
const CLOSE_GRACE_MS = 2_000;
const FINITE_DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export async function startHttpServer(gateway: HttpContext, log: Logger): Promise<HttpServer> {
  const cfg = gateway.config.http;
  const limits = cfg.limits;
  // Node checks the header and request timeouts every connectionsCheckingInterval (default 30 s): often enough here.
  const timing = { headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, connectionsCheckingInterval: Math.max(250, Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4) };
  const app = Fastify({
    ...(cfg.tls ? { https: { cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key), ...timing } } : { http: timing }),
    // Time to send the whole request (headers and body), idle socket, idle keep-alive: a slow or half-sent body is cut.
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: cfg.bodyLimitBytes,
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, allErrors: false } },
    schemaErrorFormatter: (errors, part) => new Error(schemaErrorText(errors, part)),
  });
  app.server.headersTimeout = limits.headersTimeoutMs;
  // Every JSON body's depth is checked before it is parsed (json-depth.ts), then fastify's own parser (prototype-poisoning checks) runs.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const problem = jsonDepthProblem(body as string);
    if (problem) return done(Object.assign(new Error(problem), { statusCode: 400 }), undefined);
    parseJson(request, body as string, done);
  });
  // JSON bodies are checked as sent: Ajv's coercion (null, 0, "false" → false) is for query strings and paths only.
  app.addHook('onRoute', strictBodies);
  const gate = new ConnectionGate('http', limits, log);
  gate.attach(app.server);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'choco-edge gateway API', version: VERSION, description: 'Prices, health, scheduler and store of the choco-edge gateway. Times are UTC ISO 8601; *_local fields are Europe/Madrid.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  app.setErrorHandler((error: { statusCode?: number; validation?: unknown; message: string; code?: unknown }, _request, reply) => {
    // The store refusing a read or write is a state the request cannot be served in, not a bug: 503.
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : error.code === 'store_failed' || (typeof error.code === 'string' && error.code.startsWith('LEVEL_')) ? 503 : 500;
    if (status >= 500) log.error({ err: error.message }, 'request failed');
    void reply.code(status).send({ error: errorLabel(status), message: error.message });
  });
  app.setNotFoundHandler((request, reply) => void reply.code(404).send({ error: 'not found', message: notFoundText(request.method, request.url) }));
  // ajv coerces "1e309" and "Infinity" to numbers that are not finite and lets them through: every query or path
  // parameter the route's schema types as a number must be a finite decimal number.
  app.addHook('preValidation', async (request, reply) => {
    const schema = request.routeOptions.schema as { querystring?: NumberProps; params?: NumberProps } | undefined;
    for (const [part, values] of [
      ['querystring', request.query],
      ['params', request.params],
    ] as const) {
      for (const [name, value] of Object.entries((values ?? {}) as Record<string, unknown>)) {
        const type = schema?.[part]?.properties?.[name]?.type;
        if (typeof value !== 'string') continue;
        const text = value.trim();
        const numeric = type === 'number' || type === 'integer';
        const bad = numeric ? !FINITE_DECIMAL.test(text) || !Number.isFinite(Number(text)) : FINITE_DECIMAL.test(text) && !Number.isFinite(Number(text));
        if (bad) {
          await reply.code(400).send({ error: 'bad request', message: `${part}/${name} must be a finite number, got ${JSON.stringify(text.slice(0, 40))}` });
          return reply;
        }
        // A date or timestamp parameter must name a real calendar day (Date.parse would roll 2018-02-30 over to 2 March).
        const calendar = numeric ? undefined : calendarProblem(text);
        if (calendar) {
          await reply.code(400).send({ error: 'bad request', message: `${part}/${name} ${JSON.stringify(text.slice(0, 40))}: ${calendar}` });
          return reply;
        }
      }
    }
  });
  // No response is to be sniffed into another type or shown inside someone else's frame.
  app.addHook('onSend', async (_request, reply) => {
    void reply.header('x-content-type-options', 'nosniff').header('x-frame-options', 'DENY');
  });
  // One line per request, at debug (info for a refused one); 5xx are logged by the error handler above.
  app.addHook('onResponse', async (request, reply) => {
    const line = { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    if (reply.statusCode >= 400 && reply.statusCode < 500) log.info(line, 'request refused');
    else log.debug(line, 'request');
  });
  const guard = tokenGuard(readSecret(cfg.token, 'http.token'));
  registerRoutes(app, gateway, guard);
  registerWeatherRoutes(app, gateway);
  registerModelRoutes(app, gateway, guard);
  registerPlanRoutes(app, gateway, guard);
  registerBillRoutes(app, gateway);
  registerEnergyRoutes(app, gateway);
  registerOutputRoutes(app, gateway, guard);
  registerUiRoutes(app, gateway, guard);
  registerMetrics(app, gateway);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  const bound = await listen(app, cfg.host, cfg.port);
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  const url = `${cfg.tls ? 'https' : 'http'}://${host}:${bound.port}`;
  log.info({ address: `${bound.address}:${bound.port}`, url }, 'HTTP server listening');
  return {
    app,
    gate,
    url,
    // Long-lived responses (the event stream) end themselves on 'gateway.stopping'; idle keep-alive connections are
    // closed at once, and whatever is still open after a short grace (a download, a stuck client) is cut, so a stop
    // never waits on a browser.
    close: async () => {
      const closing = app.close();
      app.server.closeIdleConnections();
      const cut = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
      try {
        await closing;
      } finally {
        clearTimeout(cut);
      }
    },
  };
}

/**
 * Listens on the Node server itself once fastify is ready. `app.listen()` would list the machine's interfaces for
 * a wildcard host (os.networkInterfaces(), which needs an AF_NETLINK socket) and so fail with errno 97 under the
 * unit's RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6.
 */
async function listen(app: FastifyInstance, host: string, port: number): Promise<AddressInfo> {
  await app.ready();
  await new Promise<void>((resolve, reject) => {
    app.server.once('error', reject);
    app.server.listen({ host, port }, () => {
      app.server.off('error', reject);
      resolve();
    });
  });
  return app.server.address() as AddressInfo;
}
