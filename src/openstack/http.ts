import { Agent, request, type Dispatcher } from 'undici';

/** Tunables of the HTTP client used for Keystone and Nova. All have safe defaults. */
export interface HttpSettings {
  /** TCP + TLS connect timeout. */
  connectTimeoutMs: number;
  /** Time to wait for the response headers once the request is sent. */
  headersTimeoutMs: number;
  /** Time allowed between two chunks of the response body. */
  bodyTimeoutMs: number;
  /** Idle keep-alive sockets are kept this long (Keystone and Nova are called in bursts). */
  keepAliveTimeoutMs: number;
  /** Retries after the first attempt, on network errors and 502/503/504 only. */
  retries: number;
  /** Backoff: full jitter over min(maxDelay, baseDelay * 2^attempt). */
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** PEM bundle trusted in addition to nothing else (replaces the system roots, like `requests`' verify=path). */
  ca?: string;
  /** TLS verification; on unless the cloud says `verify: false`. */
  verify: boolean;
}

export const defaultHttpSettings: HttpSettings = {
  connectTimeoutMs: 3_000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  keepAliveTimeoutMs: 30_000,
  retries: 2,
  retryBaseDelayMs: 200,
  retryMaxDelayMs: 2_000,
  verify: true,
};

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Serialized as JSON when present. */
  json?: unknown;
  /**
   * `false`: send once, never again (no retry on a network error or 502/503/504).
   * For a request that must not be repeated: Nova accepts a second evacuate of
   * an instance it is already evacuating, and a lost answer does not say
   * whether the first one arrived.
   */
  retry?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or `undefined` when the body was empty or not JSON. */
  body: unknown;
  text: string;
  /** Attempts made (1 = no retry). */
  attempts: number;
}

/**
 * The remote end could not be reached or kept failing with 502/503/504
 * after every retry. `lastStatus` is set when the last attempt got an answer.
 */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly attempts: number,
    readonly lastStatus?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface HttpClient {
  send(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

export interface HttpDeps {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Creates a keep-alive HTTP client with timeouts and bounded, jittered retries. */
export function createHttpClient(settings: Partial<HttpSettings> = {}, deps: HttpDeps = {}): HttpClient {
  const s: HttpSettings = { ...defaultHttpSettings, ...stripUndefined(settings) };
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const agent = new Agent({
    keepAliveTimeout: s.keepAliveTimeoutMs,
    headersTimeout: s.headersTimeoutMs,
    bodyTimeout: s.bodyTimeoutMs,
    connect: {
      timeout: s.connectTimeoutMs,
      rejectUnauthorized: s.verify,
      ...(s.ca ? { ca: s.ca } : {}),
    },
  });

  function backoff(attempt: number, retryAfter: number | undefined): number {
    const cap = Math.min(s.retryMaxDelayMs, s.retryBaseDelayMs * 2 ** attempt);
    const jittered = Math.floor(random() * cap);
    // Honour Retry-After when the server gives one, but never wait past our own cap.
    return retryAfter === undefined ? jittered : Math.min(s.retryMaxDelayMs, Math.max(jittered, retryAfter));
  }

  async function once(req: HttpRequest): Promise<Omit<HttpResponse, 'attempts'>> {
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    let body: string | undefined;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    }
    const res: Dispatcher.ResponseData = await request(req.url, {
      method: req.method,
      headers,
      body,
      dispatcher: agent,
    });
    const text = await res.body.text();
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    return { status: res.statusCode, headers: res.headers, body: parsed, text };
  }

  return {
    async send(req) {
      let lastError: unknown;
      let lastStatus: number | undefined;
      const retries = req.retry === false ? 0 : s.retries;
      for (let attempt = 0; attempt <= retries; attempt++) {
        let retryAfter: number | undefined;
        try {
          const res = await once(req);
          if (!RETRYABLE_STATUS.has(res.status)) return { ...res, attempts: attempt + 1 };
          lastStatus = res.status;
          lastError = undefined;
          retryAfter = parseRetryAfter(res.headers['retry-after']);
        } catch (err) {
          lastError = err;
          lastStatus = undefined;
        }
        if (attempt < retries) await sleep(backoff(attempt, retryAfter));
      }
      const attempts = retries + 1;
      const what = lastStatus !== undefined ? `HTTP ${lastStatus}` : describeNetworkError(lastError);
      throw new TransportError(`${req.method} ${redactUrl(req.url)}: ${what} after ${attempts} attempts`, attempts, lastStatus, {
        cause: lastError,
      });
    },
    close: () => agent.close(),
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const seconds = Number(v);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** A short, secret-free description of a network failure (no bodies, no headers). */
export function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return typeof code === 'string' ? `${code} (${err.message}${cause})` : `${err.message}${cause}`;
  }
  return 'unknown network error';
}

/** Drops userinfo and query from a URL before it goes into an error text. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
