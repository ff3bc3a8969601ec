import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a request's timestamp may be from our clock, either way (Slack's documented replay window). */
export const MAX_SKEW_SECONDS = 300;

export type SignatureProblem = 'missing-headers' | 'stale' | 'future' | 'bad-signature' | 'malformed';

export type SignatureCheck = { ok: true } | { ok: false; reason: SignatureProblem };

export interface SignedSlackRequest {
  signingSecret: string;
  /** The raw request body exactly as received: parsing and re-serializing would change the bytes. */
  body: string;
  /** `X-Slack-Request-Timestamp` (Unix seconds). */
  timestamp: string | undefined;
  /** `X-Slack-Signature` (`v0=<64 hex>`). */
  signature: string | undefined;
  /** Our clock, in milliseconds since the epoch (`Date.now()`). */
  now: number;
}

const TIMESTAMP_RE = /^\d{1,12}$/;
const SIGNATURE_RE = /^v0=([0-9a-f]{64})$/i;

function digest(secret: string, body: string, timestamp: string): Buffer {
  return createHmac('sha256', secret).update(`v0:${timestamp}:${body}`, 'utf8').digest();
}

/**
 * Verifies Slack's v0 request signature. Unlike Bolt's own check, a timestamp
 * more than 5 minutes in the *future* is refused too: a captured request with
 * a forward-dated timestamp would otherwise stay replayable for as long as
 * its date lies ahead.
 */
export function verifySlackSignature(req: SignedSlackRequest): SignatureCheck {
  const { signingSecret, body, timestamp, signature, now } = req;
  if (!timestamp || !signature) return { ok: false, reason: 'missing-headers' };
  const sig = SIGNATURE_RE.exec(signature.trim());
  if (!TIMESTAMP_RE.test(timestamp.trim()) || !sig || !signingSecret) return { ok: false, reason: 'malformed' };
  const ts = Number(timestamp.trim());
  const nowSeconds = Math.floor(now / 1000);
  if (nowSeconds - ts > MAX_SKEW_SECONDS) return { ok: false, reason: 'stale' };
  if (ts - nowSeconds > MAX_SKEW_SECONDS) return { ok: false, reason: 'future' };
  const expected = digest(signingSecret, body, timestamp.trim());
  const given = Buffer.from(sig[1]!, 'hex');
  // Both are 32 bytes (the regex fixed the hex length), so timingSafeEqual cannot throw.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  return { ok: true };
}
