/** A request as both transports (API Gateway, the local Node server) hand it over. */
export interface HttpRequest {
  method: string;
  /** Path without query, e.g. `/slack/events`. */
  path: string;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  /** The raw body, exactly as received (signatures are over these bytes). */
  body: string;
}

export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export const json = (status: number, value: unknown): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});

/** Lower-cases header names; joins repeated headers as Node does. */
export function normalizeHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** A request before its body is read: what routing and the header-level checks see. */
export type RequestHead = Omit<HttpRequest, 'body'>;

/** The router's decision from the head alone: answer now (the body is never read), or read at most `maxBodyBytes`. */
export type Preflight = { read: false; answer: HttpResponse } | { read: true; maxBodyBytes: number };

/** 413: the body is (or would be) over the route's limit. */
export const tooLarge = (limit: number): HttpResponse => json(413, { error: `request body too large: at most ${limit} bytes here` });

/** 503: the server holds as much request data as it will (across all connections); the client may retry shortly. */
export const tooBusy = (): HttpResponse => ({ ...json(503, { error: 'too many request bodies in flight; retry shortly' }), headers: { 'content-type': 'application/json', 'retry-after': '1' } });
