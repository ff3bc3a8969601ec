import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Request headers as Node and API Gateway give them; names are matched case-insensitively. */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | undefined>>;

export type BearerProblem = 'missing' | 'malformed' | 'bad-token' | 'not-configured';

export type BearerCheck = { ok: true; via: 'bearer' | 'basic' | 'x-auth-token' } | { ok: false; reason: BearerProblem };

export interface BearerOptions {
  /** Also accept `X-Auth-Token: <token>` (the OPNFV Doctor monitor's header). Off by default. */
  allowXAuthToken?: boolean;
}

/** Case-insensitive header lookup; the first value when a header is repeated. */
export function header(headers: HeaderMap, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== wanted || v === undefined) continue;
    return typeof v === 'string' ? v : v[0];
  }
  return undefined;
}

/**
 * Compares two secrets in constant time. Both are hashed with SHA-256 first,
 * so timingSafeEqual always sees 32 bytes and the length of the expected
 * token does not leak through timing (nor through an exception).
 */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/**
 * Checks a webhook's shared token: `Authorization: Bearer <token>`,
 * `Authorization: Basic base64(<any user>:<token>)` (Alertmanager and
 * Grafana both offer basic auth), and, with `allowXAuthToken`, Doctor's
 * `X-Auth-Token: <token>`. An empty expected token accepts nothing.
 */
export function checkBearer(headers: HeaderMap, expectedToken: string, options: BearerOptions = {}): BearerCheck {
  if (!expectedToken) return { ok: false, reason: 'not-configured' };
  const authorization = header(headers, 'authorization')?.trim();
  if (authorization) {
    const m = /^(\S+)\s+(\S.*)$/.exec(authorization);
    if (!m) return { ok: false, reason: 'malformed' };
    const scheme = m[1]!.toLowerCase();
    const credentials = m[2]!.trim();
    if (scheme === 'bearer') {
      return secretsEqual(credentials, expectedToken) ? { ok: true, via: 'bearer' } : { ok: false, reason: 'bad-token' };
    }
    if (scheme === 'basic') {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) return { ok: false, reason: 'malformed' };
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return { ok: false, reason: 'malformed' };
      return secretsEqual(decoded.slice(colon + 1), expectedToken) ? { ok: true, via: 'basic' } : { ok: false, reason: 'bad-token' };
    }
    if (!options.allowXAuthToken) return { ok: false, reason: 'malformed' };
  }
  if (options.allowXAuthToken) {
    const token = header(headers, 'x-auth-token')?.trim();
    if (token) return secretsEqual(token, expectedToken) ? { ok: true, via: 'x-auth-token' } : { ok: false, reason: 'bad-token' };
  }
  return { ok: false, reason: 'missing' };
}

export const GRAFANA_SIGNATURE_HEADER = 'X-Grafana-Alerting-Signature';
export const GRAFANA_TIMESTAMP_HEADER = 'X-Grafana-Alerting-Signature-Timestamp';

export type GrafanaSignatureProblem = 'missing' | 'malformed' | 'stale' | 'future' | 'bad-signature' | 'not-configured';

export type GrafanaSignatureCheck = { ok: true } | { ok: false; reason: GrafanaSignatureProblem };

export interface GrafanaSignedRequest {
  /** The raw body exactly as received. */
  body: string;
  /** `X-Grafana-Alerting-Signature`: hex HMAC-SHA256. */
  signature: string | undefined;
  /** `X-Grafana-Alerting-Signature-Timestamp` (Unix seconds), when Grafana is configured to send one. */
  timestamp?: string | undefined;
  secret: string;
  /** Our clock, milliseconds since the epoch. */
  now: number;
  maxSkewSeconds?: number;
}

const HEX_SHA256 = /^(?:sha256=)?([0-9a-f]{64})$/i;
const UNIX_SECONDS = /^\d{1,12}$/;

function grafanaDigest(secret: string, body: string, timestamp: string | undefined): Buffer {
  const mac = createHmac('sha256', secret);
  if (timestamp !== undefined) mac.update(`${timestamp}:`, 'utf8');
  return mac.update(body, 'utf8').digest();
}

/**
 * Verifies Grafana's webhook HMAC: hex HMAC-SHA256 of `ts + ":" + body`
 * when a timestamp header is present, else of the body. A timestamp more than
 * `maxSkewSeconds` in the past or the future is refused (replay). Without a
 * timestamp there is no replay protection: configure Grafana's timestamp header.
 */
export function verifyGrafanaSignature(req: GrafanaSignedRequest): GrafanaSignatureCheck {
  const { body, secret, now, maxSkewSeconds = 300 } = req;
  if (!secret) return { ok: false, reason: 'not-configured' };
  if (!req.signature) return { ok: false, reason: 'missing' };
  const sig = HEX_SHA256.exec(req.signature.trim());
  if (!sig) return { ok: false, reason: 'malformed' };
  let timestamp: string | undefined;
  if (req.timestamp !== undefined && req.timestamp !== '') {
    timestamp = req.timestamp.trim();
    if (!UNIX_SECONDS.test(timestamp)) return { ok: false, reason: 'malformed' };
    const nowSeconds = Math.floor(now / 1000);
    const ts = Number(timestamp);
    if (nowSeconds - ts > maxSkewSeconds) return { ok: false, reason: 'stale' };
    if (ts - nowSeconds > maxSkewSeconds) return { ok: false, reason: 'future' };
  }
  const expected = grafanaDigest(secret, body, timestamp);
  const given = Buffer.from(sig[1]!, 'hex');
  // Both are 32 bytes (the regex fixed the length), so timingSafeEqual cannot throw.
  return timingSafeEqual(given, expected) ? { ok: true } : { ok: false, reason: 'bad-signature' };
}

/** Computes Grafana's signature header value. For tests and fakes. */
export function signGrafanaBody(secret: string, body: string, timestamp?: string | number): string {
  return grafanaDigest(secret, body, timestamp === undefined ? undefined : String(timestamp)).toString('hex');
}
