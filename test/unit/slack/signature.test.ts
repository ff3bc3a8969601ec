import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_SKEW_SECONDS, verifySlackSignature } from '../../../src/slack/signature.js';
import { signSlackRequest } from '../../fakes/slack-signature.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = Date.parse('2026-11-25T14:00:00Z');
const TS = String(NOW / 1000);
const BODY = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fforce-down&text=compute1';

function check(over: Partial<Parameters<typeof verifySlackSignature>[0]> = {}) {
  return verifySlackSignature({
    signingSecret: SECRET,
    body: BODY,
    timestamp: TS,
    signature: signSlackRequest(SECRET, BODY, TS),
    now: NOW,
    ...over,
  });
}

describe('verifySlackSignature', () => {
  it('accepts a request signed with the signing secret', () => {
    expect(check()).toEqual({ ok: true });
  });

  it("matches Slack's documented example", () => {
    // https://docs.slack.dev/authentication/verifying-requests-from-slack (example values)
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const result = verifySlackSignature({
      signingSecret: SECRET,
      body,
      timestamp: '1531420618',
      signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
      now: 1531420618 * 1000,
    });
    expect(result).toEqual({ ok: true });
  });

  it('accepts an upper-case hex signature and a timestamp just inside the window', () => {
    expect(check({ signature: signSlackRequest(SECRET, BODY, TS).toUpperCase().replace('V0=', 'v0=') })).toEqual({ ok: true });
    expect(check({ now: NOW + MAX_SKEW_SECONDS * 1000 })).toEqual({ ok: true });
    expect(check({ now: NOW - MAX_SKEW_SECONDS * 1000 })).toEqual({ ok: true });
  });

  it('refuses a tampered body', () => {
    expect(check({ body: BODY.replace('compute1', 'compute2') })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(check({ body: `${BODY}&x=1` })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a signature made with another secret', () => {
    expect(check({ signature: signSlackRequest('another-secret', BODY, TS) })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a signature over another timestamp (replay with a fresh header)', () => {
    const fresh = String(Number(TS) + 10);
    expect(check({ timestamp: fresh })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses a timestamp 301 s old', () => {
    const ts = String(Number(TS) - 301);
    expect(check({ timestamp: ts, signature: signSlackRequest(SECRET, BODY, ts) })).toEqual({ ok: false, reason: 'stale' });
  });

  it('refuses a timestamp 301 s in the future (Bolt alone accepts it)', () => {
    const ts = String(Number(TS) + 301);
    expect(check({ timestamp: ts, signature: signSlackRequest(SECRET, BODY, ts) })).toEqual({ ok: false, reason: 'future' });
  });

  it('reports missing headers', () => {
    expect(check({ timestamp: undefined })).toEqual({ ok: false, reason: 'missing-headers' });
    expect(check({ signature: undefined })).toEqual({ ok: false, reason: 'missing-headers' });
    expect(check({ timestamp: '', signature: '' })).toEqual({ ok: false, reason: 'missing-headers' });
  });

  it.each([
    ['timestamp not a number', { timestamp: 'yesterday' }],
    ['timestamp with a fraction', { timestamp: `${TS}.5` }],
    ['negative timestamp', { timestamp: '-1' }],
    ['no v0= prefix', { signature: signSlackRequest(SECRET, BODY, TS).slice(3) }],
    ['v1 scheme', { signature: signSlackRequest(SECRET, BODY, TS).replace('v0=', 'v1=') }],
    ['short digest', { signature: signSlackRequest(SECRET, BODY, TS).slice(0, -2) }],
    ['long digest', { signature: `${signSlackRequest(SECRET, BODY, TS)}00` }],
    ['non-hex digest', { signature: `v0=${'z'.repeat(64)}` }],
    ['empty signing secret', { signingSecret: '' }],
  ])('reports a malformed request: %s', (_name, over) => {
    expect(check(over)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('accepts none of 1,000 random forged signatures', () => {
    let accepted = 0;
    for (let i = 0; i < 1000; i++) {
      const forged = `v0=${randomBytes(32).toString('hex')}`;
      if (check({ signature: forged }).ok) accepted++;
    }
    expect(accepted).toBe(0);
  });
});

describe('signSlackRequest', () => {
  it('produces v0= and 64 lower-case hex digits, and depends on every input', () => {
    const sig = signSlackRequest(SECRET, BODY, TS);
    expect(sig).toMatch(/^v0=[0-9a-f]{64}$/);
    expect(signSlackRequest(SECRET, BODY, Number(TS))).toBe(sig);
    expect(new Set([sig, signSlackRequest('x', BODY, TS), signSlackRequest(SECRET, `${BODY} `, TS), signSlackRequest(SECRET, BODY, '1')]).size).toBe(4);
  });
});
