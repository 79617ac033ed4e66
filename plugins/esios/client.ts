import { readSecret } from '../../gateway/config/load.js';
import type { Config } from '../../gateway/config/schema.js';

/** The e·sios request shape: token in `x-api-key`, v1 media type, one local day per indicator request. */
export function esiosRequests(cfg: Config['sources']['esios']) {
  const headers = {
    Accept: 'application/json; application/vnd.esios-api-v1+json',
    'Content-Type': 'application/json',
    'x-api-key': readSecret(cfg.token, 'sources.esios.token') ?? '',
  };
  const indicatorUrl = (indicator: number, date: string, extra: Array<[string, string]> = []): string => {
    const url = new URL(`${cfg.baseUrl.replace(/\/$/, '')}/indicators/${indicator}`);
    url.searchParams.set('start_date', `${date}T00:00`);
    url.searchParams.set('end_date', `${date}T23:59`);
    for (const [k, v] of extra) url.searchParams.append(k, v);
    return url.toString();
  };
  return { headers, indicatorUrl };
}
