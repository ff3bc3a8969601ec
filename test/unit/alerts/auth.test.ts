import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkBearer, secretsEqual, signGrafanaBody, verifyGrafanaSignature } from '../../../src/alerts/auth.js';

const TOKEN = 'SEKRET-alert-tok-0123456789';
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('checkBearer', () => {
  it('accepts the right bearer token, any header case', () => {
    expect(checkBearer({ authorization: `Bearer ${TOKEN}` }, TOKEN)).toEqual({ ok: true, via: 'bearer' });
    expect(checkBearer({ Authorization: `bearer ${TOKEN}` }, TOKEN)).toEqual({ ok: true, via: 'bearer' });
    expect(checkBearer({ AUTHORIZATION: [`Bearer ${TOKEN}`] }, TOKEN).ok).toBe(true);
  });

  it('refuses a wrong, truncated, extended or missing token', () => {
    expect(checkBearer({ authorization: 'Bearer nope' }, TOKEN)).toEqual({ ok: false, reason: 'bad-token' });
    expect(checkBearer({ authorization: `Bearer ${TOKEN.slice(0, -1)}` }, TOKEN).ok).toBe(false);
    expect(checkBearer({ authorization: `Bearer ${TOKEN}x` }, TOKEN).ok).toBe(false);
    expect(checkBearer({}, TOKEN)).toEqual({ ok: false, reason: 'missing' });
    expect(checkBearer({ authorization: '' }, TOKEN)).toEqual({ ok: false, reason: 'missing' });
    expect(checkBearer({ authorization: 'Bearer' }, TOKEN)).toEqual({ ok: false, reason: 'malformed' });
    expect(checkBearer({ authorization: `Token ${TOKEN}` }, TOKEN)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('accepts basic auth with the token as password and any user', () => {
    expect(checkBearer({ authorization: basic('alertmanager', TOKEN) }, TOKEN)).toEqual({ ok: true, via: 'basic' });
    expect(checkBearer({ authorization: basic('', TOKEN) }, TOKEN).ok).toBe(true);
    expect(checkBearer({ authorization: basic('grafana', 'wrong') }, TOKEN)).toEqual({ ok: false, reason: 'bad-token' });
    expect(checkBearer({ authorization: basic(TOKEN, '') }, TOKEN).ok).toBe(false);
    expect(checkBearer({ authorization: `Basic ${Buffer.from(TOKEN).toString('base64')}` }, TOKEN)).toEqual({ ok: false, reason: 'malformed' });
    expect(checkBearer({ authorization: 'Basic !!!' }, TOKEN)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('keeps colons in a basic password', () => {
    const t = 'a:b:c';
    expect(checkBearer({ authorization: basic('u', t) }, t).ok).toBe(true);
  });

  it('accepts X-Auth-Token only when allowed (Doctor)', () => {
    expect(checkBearer({ 'x-auth-token': TOKEN }, TOKEN)).toEqual({ ok: false, reason: 'missing' });
    expect(checkBearer({ 'X-Auth-Token': TOKEN }, TOKEN, { allowXAuthToken: true })).toEqual({ ok: true, via: 'x-auth-token' });
    expect(checkBearer({ 'x-auth-token': 'gAAAAABkeystone' }, TOKEN, { allowXAuthToken: true })).toEqual({ ok: false, reason: 'bad-token' });
    expect(checkBearer({ authorization: `Bearer ${TOKEN}` }, TOKEN, { allowXAuthToken: true }).ok).toBe(true);
  });

  it('accepts nothing when no token is configured', () => {
    expect(checkBearer({ authorization: 'Bearer ' }, '')).toEqual({ ok: false, reason: 'not-configured' });
    expect(checkBearer({ authorization: basic('u', '') }, '')).toEqual({ ok: false, reason: 'not-configured' });
    expect(checkBearer({ 'x-auth-token': '' }, '', { allowXAuthToken: true }).ok).toBe(false);
  });

  it('accepts none of 1,000 random wrong tokens', () => {
    let accepted = 0;
    for (let i = 0; i < 1000; i++) {
      const guess = randomBytes(1 + (i % 48)).toString(i % 2 ? 'hex' : 'base64url');
      const headers =
        i % 3 === 0
          ? { authorization: `Bearer ${guess}` }
          : i % 3 === 1
            ? { authorization: basic(`u${i}`, guess) }
            : { 'x-auth-token': guess };
      if (checkBearer(headers, TOKEN, { allowXAuthToken: true }).ok) accepted++;
    }
    expect(accepted).toBe(0);
  });

  it('compares secrets of different lengths without throwing', () => {
    expect(secretsEqual('a', 'a'.repeat(1000))).toBe(false);
    expect(secretsEqual('', '')).toBe(true);
  });
});

describe('verifyGrafanaSignature', () => {
  const SECRET = 'SEKRET-hmac-abc';
  const BODY = '{"receiver":"force-down","status":"firing","alerts":[]}';
  const NOW = Date.UTC(2026, 10, 25, 14, 3, 10);
  const TS = String(Math.floor(NOW / 1000));

  it('accepts a good signature over ts:body', () => {
    const signature = signGrafanaBody(SECRET, BODY, TS);
    expect(verifyGrafanaSignature({ body: BODY, signature, timestamp: TS, secret: SECRET, now: NOW })).toEqual({ ok: true });
    expect(verifyGrafanaSignature({ body: BODY, signature: signature.toUpperCase(), timestamp: TS, secret: SECRET, now: NOW }).ok).toBe(true);
  });

  it('accepts a good signature over the body alone when there is no timestamp', () => {
    const signature = signGrafanaBody(SECRET, BODY);
    expect(verifyGrafanaSignature({ body: BODY, signature, secret: SECRET, now: NOW })).toEqual({ ok: true });
    // ...but a body-only signature does not verify once a timestamp is sent.
    expect(verifyGrafanaSignature({ body: BODY, signature, timestamp: TS, secret: SECRET, now: NOW })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a bad signature, a changed body, a wrong secret, a swapped timestamp', () => {
    const signature = signGrafanaBody(SECRET, BODY, TS);
    const v = (o: Partial<Parameters<typeof verifyGrafanaSignature>[0]>) =>
      verifyGrafanaSignature({ body: BODY, signature, timestamp: TS, secret: SECRET, now: NOW, ...o });
    expect(v({ body: `${BODY} ` })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(v({ secret: 'other' })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(v({ timestamp: String(Number(TS) - 1) })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(v({ signature: '0'.repeat(64) })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(v({ signature: 'abc' })).toEqual({ ok: false, reason: 'malformed' });
    expect(v({ signature: undefined })).toEqual({ ok: false, reason: 'missing' });
    expect(v({ timestamp: '2026-11-25T14:03:10Z' })).toEqual({ ok: false, reason: 'malformed' });
    expect(v({ secret: '' })).toEqual({ ok: false, reason: 'not-configured' });
  });

  it('refuses stale and future timestamps, within a configurable skew', () => {
    const at = (ts: number, maxSkewSeconds?: number) =>
      verifyGrafanaSignature({
        body: BODY,
        signature: signGrafanaBody(SECRET, BODY, ts),
        timestamp: String(ts),
        secret: SECRET,
        now: NOW,
        ...(maxSkewSeconds === undefined ? {} : { maxSkewSeconds }),
      });
    const t = Number(TS);
    expect(at(t - 300)).toEqual({ ok: true });
    expect(at(t + 300)).toEqual({ ok: true });
    expect(at(t - 301)).toEqual({ ok: false, reason: 'stale' });
    expect(at(t + 301)).toEqual({ ok: false, reason: 'future' });
    expect(at(t - 3600)).toEqual({ ok: false, reason: 'stale' });
    expect(at(t - 60, 30)).toEqual({ ok: false, reason: 'stale' });
  });

  it('accepts none of 1,000 random signatures', () => {
    let accepted = 0;
    for (let i = 0; i < 1000; i++) {
      const signature = randomBytes(32).toString('hex');
      if (verifyGrafanaSignature({ body: BODY, signature, timestamp: TS, secret: SECRET, now: NOW }).ok) accepted++;
    }
    expect(accepted).toBe(0);
  });
});
