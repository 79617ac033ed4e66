import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function fixture(path: string): string {
  return readFileSync(`${FIXTURES}${path}`, 'utf8');
}

export type Reply = { status?: number; headers?: Record<string, string>; body?: string | Buffer; delayMs?: number; destroy?: boolean };
export type Route = (req: IncomingMessage, url: URL) => Reply | undefined;

/** A real HTTP server on loopback that replays recorded responses; `script` lets a test queue faults per path. */
export class FixtureServer {
  private server?: Server;
  readonly requests: Array<{ path: string; query: string; headers: IncomingMessage['headers']; method: string; body: string }> = [];
  private readonly queued = new Map<string, Reply[]>();
  routes: Route[] = [];

  get base(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** The next `replies.length` requests whose path starts with `prefix` get these replies, in order. */
  script(prefix: string, ...replies: Reply[]): void {
    this.queued.set(prefix, [...(this.queued.get(prefix) ?? []), ...replies]);
  }

  countFor(prefix: string): number {
    return this.requests.filter((r) => r.path.startsWith(prefix)).length;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let body = '';
    for await (const chunk of req) body += chunk;
    this.requests.push({ path: url.pathname, query: url.search, headers: req.headers, method: req.method ?? 'GET', body });
    let reply: Reply | undefined;
    for (const [prefix, list] of this.queued) {
      if (url.pathname.startsWith(prefix) && list.length) {
        reply = list.shift();
        break;
      }
    }
    for (const route of this.routes) {
      if (reply) break;
      reply = route(req, url);
    }
    reply ??= { status: 404, headers: { 'content-type': 'text/html' }, body: '<html><body>Not Found</body></html>' };
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply!.delayMs));
    if (reply.destroy) {
      req.socket.destroy();
      return;
    }
    res.writeHead(reply.status ?? 200, reply.headers ?? { 'content-type': 'application/json' });
    res.end(reply.body ?? '');
  }
}

/** Routes that answer like the real APIs from the recorded fixtures, by the date asked for. */
export function recordedRoutes(): Route[] {
  return [
    (_req, url) => {
      if (!url.pathname.endsWith('/datos/mercados/precios-mercados-tiempo-real')) return undefined;
      const day = url.searchParams.get('start_date')?.slice(0, 10);
      if (day === '2021-10-31') return { body: fixture('ree/aiopvpc_PRICES_APIDATOS_2021_10_31.json') };
      return {
        status: 400,
        body: JSON.stringify({ errors: [{ status: '400', title: 'Error Interno', detail: 'Los datos solicitados no están disponibles en este momento.' }] }),
      };
    },
    (req, url) => {
      const m = /^\/indicators\/(\d+)$/.exec(url.pathname);
      if (!m) return undefined;
      if (req.headers['x-api-key'] !== 'test-token') return { status: 401, headers: { 'content-type': 'text/plain' }, body: 'HTTP Token: Access denied.' };
      const day = url.searchParams.get('start_date')?.slice(0, 10)?.replaceAll('-', '_');
      try {
        return { body: fixture(`esios/aiopvpc_PRICES_ESIOS_${m[1]}_${day}.json`) };
      } catch {
        return { body: JSON.stringify({ indicator: { id: Number(m[1]), geos: [], values_updated_at: null, values: [] } }) };
      }
    },
    (_req, url) => {
      const name = url.searchParams.get('filename');
      if (!name?.startsWith('marginalpdbc_')) return undefined;
      try {
        return { headers: { 'content-type': 'application/octet-stream' }, body: fixture(`omie/${name}`) };
      } catch {
        return undefined;
      }
    },
  ];
}

export const AEMET_KEY = 'aemet-test-key';
export const OWM_KEY = 'owm-test-key';

/** The HA capture decoded the ISO-8859-15 bytes as UTF-8; restore the known AEMET strings before re-encoding. */
export function restoreAemetText(text: string): string {
  return text
    .replace('Agencia Estatal de Meteorolog\uFFFDa - AEMET. Gobierno de Espa\uFFFDa', 'Agencia Estatal de Meteorología - AEMET. Gobierno de España')
    .replace('\uFFFD AEMET. Autorizado el uso de la informaci\uFFFDn y su reproducci\uFFFDn', '© AEMET. Autorizado el uso de la información y su reproducción');
}

/** UTF-16 text → ISO-8859-15 bytes (the characters used here are all in Latin-1's range). */
export function latin9(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** AEMET OpenData: envelope (key in the `api_key` header) → `datos` served once as ISO-8859-15. */
export function aemetRoutes(server: FixtureServer): Route[] {
  let n = 0;
  const datos = new Map<string, string>();
  return [
    (req, url) => {
      const m = /^\/opendata\/api\/(observacion\/convencional\/datos\/estacion\/[^/]+|prediccion\/especifica\/municipio\/horaria\/\d+)$/.exec(url.pathname);
      if (!m) return undefined;
      if (req.headers.api_key !== AEMET_KEY) return { status: 401, body: JSON.stringify({ descripcion: 'API key invalido', estado: 401 }) };
      const file = m[1]!.startsWith('observacion') ? 'aemet/homeassistant_station-3195-data.json' : 'aemet/homeassistant_town-28065-forecast-hourly-data.json';
      const token = `t${++n}`;
      datos.set(token, file);
      const body = { descripcion: 'exito', estado: 200, datos: `${server.base}/opendata/sh/${token}`, metadatos: `${server.base}/opendata/sh/meta` };
      return { body: JSON.stringify(body, null, 2).replace(/": /g, '" : ') };
    },
    (_req, url) => {
      const m = /^\/opendata\/sh\/(t\d+)$/.exec(url.pathname);
      if (!m) return undefined;
      const file = datos.get(m[1]!);
      if (!file) return { status: 404, headers: { 'content-type': 'text/html' }, body: '<html>404</html>' };
      datos.delete(m[1]!); // short-lived: a second fetch of the same URL is a 404
      return { headers: { 'content-type': 'text/plain;charset=ISO-8859-15' }, body: latin9(restoreAemetText(fixture(file))) };
    },
  ];
}

const KELVIN_KEYS = ['temp', 'feels_like', 'temp_min', 'temp_max'];

/** OpenWeatherMap answers in Kelvin unless `units=metric`, as the real API does; the fixtures are recorded in Kelvin. */
export function toMetric(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(toMetric);
  if (!body || typeof body !== 'object') return body;
  return Object.fromEntries(
    Object.entries(body).map(([k, v]) => [k, KELVIN_KEYS.includes(k) && typeof v === 'number' ? Math.round((v - 273.15) * 100) / 100 : toMetric(v)]),
  );
}

/** 2022-08-30T15:00:00Z: the 3-hour boundary after the recorded current weather (dt 1661870592 = 14:43:12Z). */
export const OWM_FORECAST_START_S = 1661871600;

export function owmRoutes(): Route[] {
  return [
    (_req, url) => {
      const file = url.pathname === '/data/2.5/weather' ? 'openweathermap/pyopenweathermap_free_current.json' : url.pathname === '/data/2.5/forecast' ? 'openweathermap/matthiasos_forecast_5day3h.json' : undefined;
      if (!file) return undefined;
      if (url.searchParams.get('appid') !== OWM_KEY) {
        return { status: 401, body: JSON.stringify({ cod: 401, message: 'Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.' }) };
      }
      const body = JSON.parse(fixture(file));
      // Like the real API, the answer is for the coordinates asked for (the recordings are from elsewhere).
      const coord = { lat: Number(url.searchParams.get('lat')), lon: Number(url.searchParams.get('lon')) };
      if (body.coord) body.coord = coord;
      if (body.city?.coord) body.city.coord = coord;
      // The forecast recording (2024) is rebased to start at the first 3-hour boundary after the current-weather recording (2022).
      if (Array.isArray(body.list) && body.list.length) {
        const shift = OWM_FORECAST_START_S - body.list[0].dt;
        for (const item of body.list) item.dt += shift;
      }
      return { body: JSON.stringify(url.searchParams.get('units') === 'metric' ? toMetric(body) : body) };
    },
  ];
}
