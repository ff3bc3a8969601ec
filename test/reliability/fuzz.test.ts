// Bad input (issue 6), property-based with fast-check: generated slash commands, button clicks,
// modal submissions and forged signatures, each Slack-signed as Slack would (or forged), through the
// real router (src/runtime/router.ts), Bolt and the use cases, with a memory store whose contents
// are checked after every input, a fake Slack Web API, and a fake Keystone + Nova that counts calls.
// The alert webhooks' bodies, tokens and Grafana signatures are fuzzed the same way in webhooks.test.ts.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRequest } from '../../src/app/requests.js';
import { FENCING_METHODS } from '../../src/domain/fencing.js';
import { checkHostName, COMPUTE_BINARY } from '../../src/domain/host.js';
import type { Action, ForceDownRequest } from '../../src/domain/request.js';
import { createNovaClient } from '../../src/openstack/nova.js';
import type { HttpRequest as NovaHttpRequest } from '../../src/openstack/http.js';
import type { HttpResponse } from '../../src/runtime/http.js';
import { encodeModalMetadata, modalRequestId } from '../../src/slack/envelope.js';
import { ACTION_IDS, CARD_ACTIONS_BLOCK_ID, FENCE_MODAL_CALLBACK_ID, MODAL_INPUTS, NOTE_MAX_LENGTH, VERIFIED_OPTION_VALUE } from '../../src/slack/ids.js';
import { signSlackRequest } from '../fakes/slack-signature.js';
import { startFakeOpenStack, type FakeOpenStack } from '../fakes/fake-openstack.js';
import { COMPUTE_URL, createFakeHttp, versionRoute } from '../fakes/http-client.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { APPROVER, APPROVER2, CHANNEL, OTHER_CHANNEL, REQUESTER, SIGNING_SECRET, createAppHarness, type AppHarness } from './harness.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
// A failure prints its seed: FUZZ_SEED=<seed> replays it.
if (process.env.FUZZ_SEED) fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED) });
const STRANGER = 'U0STRANGER1';

let slack: FakeSlackApi;
let openstack: FakeOpenStack;
/** Two runtimes: the two-person rule off, and on. */
let h: AppHarness;
let h2: AppHarness;

beforeAll(async () => {
  slack = await startFakeSlackApi();
  openstack = await startFakeOpenStack();
  const cloud = { auth: { auth_url: openstack.authUrl, username: 'admin', password: 'fuzz-cloud-password', project_name: 'admin' }, region_name: 'RegionOne' };
  h = createAppHarness({ slack, cloud: cloud as never });
  h2 = createAppHarness({ slack, cloud: cloud as never, twoPerson: true });
});
afterAll(async () => {
  for (const x of [h, h2]) {
    // Nothing any input did was an unexpected failure: no listener, job or Slack call logged an error.
    expect(x.log.entries().filter((e) => e.level === 'error')).toEqual([]);
    await x.close();
  }
  await slack?.close();
  await openstack?.close();
});

// ---------------------------------------------------------------------------------------------
// Signed requests, as Slack sends them

function signedRequest(body: string, opts: { timestamp?: string; signature?: string | null; omitTimestamp?: boolean } = {}) {
  const timestamp = opts.timestamp ?? String(Math.floor(Date.now() / 1000));
  const headers: Record<string, string | undefined> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (!opts.omitTimestamp) headers['x-slack-request-timestamp'] = timestamp;
  const signature = opts.signature === undefined ? signSlackRequest(SIGNING_SECRET, body, timestamp) : opts.signature;
  if (signature !== null) headers['x-slack-signature'] = signature;
  return { method: 'POST', path: '/slack/events', headers, body };
}

const send = (x: AppHarness, body: string): Promise<HttpResponse> => x.route(signedRequest(body));

function slashBody(fields: { text: string; user?: string; channel?: string; command?: string }): string {
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'T0FAKE0001',
    team_domain: 'fake',
    channel_id: fields.channel ?? CHANNEL,
    channel_name: 'oncall',
    user_id: fields.user ?? REQUESTER,
    user_name: 'someone',
    command: fields.command ?? '/force-down',
    text: fields.text,
    api_app_id: 'A0FAKEAPP1',
    response_url: slack.responseUrl('fuzz'),
    trigger_id: '1.2.3',
  }).toString();
}

const payloadBody = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

let hostSeq = 0;
/** A fresh pending request (a new host each time, so no lock is shared). */
async function pending(x: AppHarness, requestedBy = REQUESTER, action: Action = 'force-down'): Promise<ForceDownRequest> {
  const res = await openRequest(x.deps, {
    host: `fz${++hostSeq}`,
    action,
    origin: { kind: 'slash', userId: requestedBy, channelId: CHANNEL },
    requestedBy,
    channel: CHANNEL,
  });
  if (res.kind !== 'opened') throw new Error('fuzz setup: could not open a request');
  x.jobs.length = 0; // its card is not needed here
  return res.request;
}

/** Nothing but `request` may have changed, and `request` only as allowed. */
function snapshot(x: AppHarness) {
  return { size: x.state.requests.size, writes: x.writes() };
}

/**
 * The property every route must keep, whatever it is sent: an answer below 500, no unexpected
 * failure, and nothing recorded but valid, pending requests in an allowed channel. (The alert
 * webhooks have a stronger one, an oracle of their own: webhooks.test.ts.)
 */
async function checkRobust(x: AppHarness, req: Parameters<AppHarness['route']>[0]): Promise<HttpResponse> {
  const before = x.state.requests.size;
  const res = await x.route(req);
  x.jobs.length = 0;
  expect(res.status).toBeLessThan(500);
  for (const r of [...x.state.requests.values()].slice(before)) {
    expect(checkHostName(r.host)).toBeUndefined();
    expect(r).toMatchObject({ channel: CHANNEL, state: 'pending' });
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// Generators

const label = fc.stringMatching(/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,14}[A-Za-z0-9_])?$/);
const validHost = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const nasty = fc.constantFrom(
  'a/b', '../../etc/passwd', 'h?x=1', 'h#frag', 'h%2Fx', 'h&host=evil', 'h\u0000', 'h\r\nX-Injected: 1', 'h\tx', '<@U0APPROVE1>', '<!channel>',
  '*b*', '`c`', 'ñandú', '💥', 'a'.repeat(64), `${'a'.repeat(63)}.`.repeat(5), '-', '.', 'a..b', '-a', 'a-', '_', 'compute1.', '.compute1', '\u202ecompute1',
  'compute１', 'сompute1', 'x'.repeat(254),
);
const word = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('--unset', '--cloud', '--reason', 'status', 'list', 'help', '--help', '-h', 'nova-compute', 'nova-scheduler', 'lab', 'prod', '--frob', '"', '“quoted words”', '”', '--', 'STATUS', 'Help') },
  { weight: 3, arbitrary: validHost },
  { weight: 2, arbitrary: nasty },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);
/** Mostly well-formed requests (`[--unset] host [nova-compute] [--cloud C] [--reason …]`), options in any order. */
const plausible = fc
  .record({
    unset: fc.boolean(),
    host: fc.oneof({ weight: 4, arbitrary: validHost }, { weight: 1, arbitrary: nasty }),
    binary: fc.constantFrom(undefined, 'nova-compute', 'nova-scheduler'),
    cloud: fc.constantFrom(undefined, 'lab', 'prod', '', 'bad cloud'),
    reason: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
  })
  .chain((r) =>
    fc
      .shuffledSubarray([r.unset ? '--unset' : undefined, r.cloud !== undefined ? `--cloud ${r.cloud}` : undefined].filter((x): x is string => x !== undefined))
      .map((opts) => [...opts, r.host, r.binary, r.reason !== undefined ? `--reason ${r.reason}` : undefined].filter((x) => x !== undefined).join(' ')),
  );
const slashText = fc.oneof(
  { weight: 4, arbitrary: plausible },
  { weight: 8, arbitrary: fc.array(word, { maxLength: 7 }).map((w) => w.join(' ')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 1990, maxLength: 2100 }) },
);
const slackUser = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(REQUESTER, APPROVER, APPROVER2, STRANGER) }, { weight: 1, arbitrary: fc.string({ maxLength: 14 }) });

// ---------------------------------------------------------------------------------------------

describe(`slash commands: ${RUNS} generated texts`, () => {
  it('never a 5xx; each answer is an ack that opened one valid request, or an ephemeral text that recorded nothing', async () => {
    let opened = 0;
    let ephemeral = 0;
    await fc.assert(
      fc.asyncProperty(
        slashText,
        slackUser,
        fc.oneof({ weight: 6, arbitrary: fc.constant(CHANNEL) }, { weight: 1, arbitrary: fc.constant(OTHER_CHANNEL) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }),
        fc.oneof({ weight: 12, arbitrary: fc.constant('/force-down') }, { weight: 1, arbitrary: fc.string({ maxLength: 15 }) }),
        async (text, user, channel, command) => {
          const before = snapshot(h);
          const res = await send(h, slashBody({ text, user, channel, command }));
          h.jobs.length = 0;
          expect(res.status).toBeLessThan(500);
          if (!/^\/force-down/.test(command)) {
            // No listener for another command: Bolt's 404, and nothing happens.
            expect(res.status).toBe(404);
            expect(snapshot(h)).toEqual(before);
            return;
          }
          expect(res.status).toBe(200);
          if (res.body === '') {
            // Acked: a request was opened. Exactly one, for a valid host named in the text, in the allowed channel.
            opened++;
            expect(h.state.requests.size).toBe(before.size + 1);
            const r = [...h.state.requests.values()].at(-1)!;
            expect(checkHostName(r.host)).toBeUndefined();
            expect(text).toContain(r.host);
            expect(r).toMatchObject({ channel: CHANNEL, requestedBy: user, state: 'pending', binary: COMPUTE_BINARY });
          } else {
            ephemeral++;
            const json = JSON.parse(res.body) as { response_type?: string; text?: string };
            expect(json.response_type).toBe('ephemeral');
            expect(typeof json.text).toBe('string');
            expect(json.text!.length).toBeGreaterThan(0);
            expect(snapshot(h)).toEqual(before);
          }
        },
      ),
      { numRuns: RUNS },
    );
    // The generators reach both outcomes in earnest.
    expect(opened).toBeGreaterThan(RUNS / 20);
    expect(ephemeral).toBeGreaterThan(RUNS / 4);
  });
});

/** Top-level fields Bolt decides the kind of a request by (helpers.js getTypeAndConversation). */
const BOLT_ROUTING_KEYS = new Set(['event', 'command', 'name', 'actions', 'type', 'view', 'channel', 'user', 'team', 'enterprise']);

describe(`buttons: ${RUNS} generated block_actions payloads`, () => {
  it('never a 5xx; only Cancel by the requester or an approver changes a request; only an approver\'s Confirm opens the modal', async () => {
    const actionIds = Object.values(ACTION_IDS);
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          actionId: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...actionIds) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) }),
          value: fc.oneof({ weight: 5, arbitrary: fc.constant<'ID'>('ID') }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.constant(undefined) }),
          user: slackUser,
          type: fc.oneof({ weight: 6, arbitrary: fc.constant('button') }, { weight: 1, arbitrary: fc.constantFrom('static_select', 'overflow', 'checkboxes', '') }),
          trigger: fc.boolean(),
          blockId: fc.oneof(fc.constant(CARD_ACTIONS_BLOCK_ID), fc.string({ maxLength: 10 })),
          action: fc.constantFrom<Action>('force-down', 'unset'),
          // Unknown top-level fields. Not the ones Bolt routes on (an `event`, `command` or `name` field makes it another kind of request).
          extra: fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => !BOLT_ROUTING_KEYS.has(k)), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
        }),
        async (g) => {
          const request = await pending(h, REQUESTER, g.action);
          const value = g.value === 'ID' ? request.id : g.value;
          const before = snapshot(h);
          slack.reset(); // keeps the fake's record short (it is searched below)
          const modals = 0;
          const payload = {
            ...g.extra,
            type: 'block_actions',
            user: { id: g.user, username: 'someone', team_id: 'T0FAKE0001' },
            team: { id: 'T0FAKE0001' },
            channel: { id: CHANNEL, name: 'oncall' },
            ...(g.trigger ? { trigger_id: '1.2.3' } : {}),
            response_url: slack.responseUrl('fuzz-click'),
            container: { type: 'message', channel_id: CHANNEL, message_ts: '1.1' },
            message: { ts: '1.1' },
            actions: [{ type: g.type, action_id: g.actionId, block_id: g.blockId, ...(value !== undefined ? { value } : {}), action_ts: '1' }],
          };
          const res = await send(h, payloadBody(payload));
          h.jobs.length = 0;
          expect(res.status).toBeLessThan(500);
          if (!actionIds.includes(g.actionId as never)) expect(res.status).toBe(404);
          const button = g.type === 'button' && value === request.id;
          const mayCancel = g.user === REQUESTER || g.user === APPROVER || g.user === APPROVER2;
          const after = h.state.requests.get(request.id)!;
          if (button && g.actionId === ACTION_IDS.cancelRequest && mayCancel) {
            expect(after.state).toBe('cancelled');
          } else {
            expect(snapshot(h)).toEqual(before);
          }
          const opened = slack.calls('views.open').length - modals;
          const mayConfirm = g.user === APPROVER || g.user === APPROVER2;
          const confirm = g.actionId === ACTION_IDS.confirmFenced || g.actionId === ACTION_IDS.confirmRecovered;
          expect(opened).toBe(button && confirm && mayConfirm && g.trigger ? 1 : 0);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('bodies of any shape (payload JSON, form fields, repeated fields): never a 5xx; anything recorded is a valid request', async () => {
    const field = fc.constantFrom('command', 'text', 'user_id', 'channel_id', 'response_url', 'trigger_id', 'payload', 'ssl_check', 'type', 'token');
    const value = fc.oneof(fc.constantFrom('/force-down', CHANNEL, APPROVER, 'compute1', slack.responseUrl('any'), '{}', '[]', 'null'), fc.string({ maxLength: 20 }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }).map(payloadBody),
          fc
            .record(
              { type: fc.constantFrom('block_actions', 'view_submission', 'view_closed', 'shortcut', 'message_action', 'block_suggestion'), user: fc.jsonValue({ maxDepth: 1 }), team: fc.jsonValue({ maxDepth: 1 }), channel: fc.jsonValue({ maxDepth: 1 }), actions: fc.jsonValue({ maxDepth: 2 }), view: fc.jsonValue({ maxDepth: 2 }) },
              { requiredKeys: ['type'] },
            )
            .map(payloadBody),
          fc.array(fc.tuple(field, value), { maxLength: 9 }).map((pairs) => new URLSearchParams(pairs).toString()),
        ),
        async (body) => {
          await checkRobust(h, signedRequest(body));
        },
      ),
      { numRuns: Math.ceil(RUNS / 5) },
    );
  });
});

describe(`modal submissions: ${RUNS} generated view_submission payloads`, () => {
  type Spec = { method: 'valid' | 'other' | 'invalid' | 'missing'; verified: boolean; note: 'none' | 'ok' | 'blank' | 'long' };
  const spec = fc.record<Spec>({ method: fc.constantFrom('valid', 'other', 'invalid', 'missing'), verified: fc.boolean(), note: fc.constantFrom('none', 'ok', 'blank', 'long') });

  function valuesOf(s: Spec, pick: string, noteText: string): Record<string, unknown> {
    const values: Record<string, Record<string, unknown>> = {};
    const method = s.method === 'valid' ? pick : s.method === 'other' ? 'other' : s.method === 'invalid' ? `not-${pick}` : undefined;
    if (method !== undefined) values[MODAL_INPUTS.method.blockId] = { [MODAL_INPUTS.method.actionId]: { type: 'static_select', selected_option: { value: method } } };
    values[MODAL_INPUTS.verified.blockId] = { [MODAL_INPUTS.verified.actionId]: { type: 'checkboxes', selected_options: s.verified ? [{ value: VERIFIED_OPTION_VALUE }] : [] } };
    const note = s.note === 'ok' ? noteText : s.note === 'blank' ? '   ' : s.note === 'long' ? 'n'.repeat(NOTE_MAX_LENGTH + 1) : null;
    values[MODAL_INPUTS.note.blockId] = { [MODAL_INPUTS.note.actionId]: { type: 'plain_text_input', value: note } };
    return values;
  }

  /** An independent statement of what a valid fence confirmation is (README, the modal). */
  function isValid(s: Spec, action: Action): boolean {
    if (!s.verified) return false;
    if (s.note === 'long') return false;
    if (action === 'unset') return true;
    if (s.method === 'invalid' || s.method === 'missing') return false;
    return !(s.method === 'other' && (s.note === 'none' || s.note === 'blank'));
  }

  it('never a 5xx; a request is approved (and one Nova call queued) only for an authorized approver\'s valid confirmation', async () => {
    let approved = 0;
    await fc.assert(
      fc.asyncProperty(
        spec,
        fc.constantFrom(...(Object.keys(FENCING_METHODS) as string[]).filter((m) => m !== 'other')),
        fc.string({ minLength: 1, maxLength: 40 }).filter((t) => t.trim().length > 0),
        slackUser,
        fc.constantFrom(REQUESTER, APPROVER),
        fc.constantFrom<Action>('force-down', 'unset'),
        fc.oneof({ weight: 8, arbitrary: fc.constant(FENCE_MODAL_CALLBACK_ID) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) }),
        fc.oneof({ weight: 8, arbitrary: fc.constant('ID') }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }),
        fc.boolean(),
        fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }),
        async (s, pick, noteText, user, requestedBy, action, callbackId, meta, twoPerson, garbage) => {
          const x = twoPerson ? h2 : h;
          const request = await pending(x, requestedBy, action);
          // The modal an approver opened for it: its form's nonce is recorded on the request.
          const form = `form-${hostSeq}`;
          await x.store.recordForm(request.id, form, ['pending', 'failed']);
          const before = snapshot(x);
          const values = garbage !== undefined ? garbage : valuesOf(s, pick, noteText);
          const payload = {
            type: 'view_submission',
            team: { id: 'T0FAKE0001' },
            user: { id: user, username: 'someone', team_id: 'T0FAKE0001' },
            api_app_id: 'A0FAKEAPP1',
            trigger_id: '1.2.3',
            view: { id: 'V0FUZZ', type: 'modal', callback_id: callbackId, private_metadata: meta === 'ID' ? encodeModalMetadata({ id: request.id, nonce: form }) : meta, state: { values } },
          };
          const res = await send(x, payloadBody(payload));
          expect(res.status).toBeLessThan(500);
          const executes = x.jobs.filter((j) => j.kind === 'execute').length;
          x.jobs.length = 0;
          // `state.values` that is not an object at all: refused before Bolt (400).
          const malformed = garbage !== undefined && (typeof garbage !== 'object' || garbage === null || Array.isArray(garbage));
          if (malformed) {
            expect(res.status).toBe(400);
            expect(snapshot(x)).toEqual(before);
            return;
          }
          if (callbackId !== FENCE_MODAL_CALLBACK_ID) {
            expect(res.status).toBe(404);
            expect(snapshot(x)).toEqual(before);
            return;
          }
          const authorized = (user === APPROVER || user === APPROVER2) && !(twoPerson && user === requestedBy);
          const expectApproved = meta === 'ID' && garbage === undefined && authorized && isValid(s, action);
          if (expectApproved) {
            approved++;
            expect(res).toMatchObject({ status: 200, body: '' });
            expect(x.state.requests.get(request.id)).toMatchObject({ state: 'approved', confirmation: { by: user } });
            expect(executes).toBe(1);
          } else {
            // The modal stays open with the reasons: response_action errors, nothing recorded, no Nova call queued.
            expect(res.status).toBe(200);
            expect(JSON.parse(res.body)).toMatchObject({ response_action: 'errors' });
            expect(snapshot(x)).toEqual(before);
            expect(executes).toBe(0);
          }
        },
      ),
      { numRuns: RUNS },
    );
    expect(approved).toBeGreaterThan(RUNS / 50);
  });
});

describe(`signatures: ${RUNS} forged, truncated, tampered, stale, future-dated or malformed`, () => {
  it('0 accepted: every one is a 401, nothing recorded, nothing queued, nothing sent to Slack', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
    type Forgery = { timestamp?: string; signature?: string | null; omitTimestamp?: boolean; body?: (b: string) => string };
    const forgery: fc.Arbitrary<(body: string) => Forgery> = fc.oneof(
      // Another secret (a guess, an old rotated one, an empty-ish one).
      fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s !== SIGNING_SECRET).map((secret) => (body: string) => {
        const ts = String(now());
        return { timestamp: ts, signature: signSlackRequest(secret, body, ts) };
      }),
      // Truncated.
      fc.nat({ max: 66 }).map((keep) => (body: string) => {
        const ts = String(now());
        return { timestamp: ts, signature: signSlackRequest(SIGNING_SECRET, body, ts).slice(0, keep) };
      }),
      // One hex digit changed.
      fc.tuple(fc.nat({ max: 63 }), fc.integer({ min: 1, max: 15 })).map(([i, d]) => (body: string) => {
        const ts = String(now());
        const sig = signSlackRequest(SIGNING_SECRET, body, ts);
        const digit = ((parseInt(sig[3 + i]!, 16) + d) % 16).toString(16);
        return { timestamp: ts, signature: `${sig.slice(0, 3 + i)}${digit}${sig.slice(4 + i)}` };
      }),
      // A random signature, or one of another version.
      fc.tuple(hex, fc.constantFrom('v0=', 'v1=', '', 'v0:', 'sha256=')).map(([h, prefix]) => () => ({ timestamp: String(now()), signature: `${prefix}${h}` })),
      // The body changed after signing (a replay with other words).
      fc.string({ minLength: 1, maxLength: 20 }).map((extra) => (body: string) => {
        const ts = String(now());
        return { timestamp: ts, signature: signSlackRequest(SIGNING_SECRET, body, ts), body: (b: string) => `${b}&text=${encodeURIComponent(extra)}` };
      }),
      // Correctly signed, but stale (more than 5 minutes old) …
      fc.integer({ min: 302, max: 2_000_000_000 }).map((age) => (body: string) => {
        const ts = String(Math.max(0, now() - age));
        return { timestamp: ts, signature: signSlackRequest(SIGNING_SECRET, body, ts) };
      }),
      // … or future-dated (Bolt alone would accept these).
      fc.integer({ min: 302, max: 5_000_000_000 }).map((ahead) => (body: string) => {
        const ts = String(now() + ahead);
        return { timestamp: ts, signature: signSlackRequest(SIGNING_SECRET, body, ts) };
      }),
      // Timestamps that are not a plain Unix time, signed over as given.
      fc
        .oneof(fc.string({ maxLength: 14 }).filter((t) => !/^\s*\d{1,12}\s*$/.test(t)), fc.constantFrom('1e9', '0x65', '-1', '', ' ', `${'9'.repeat(13)}`, 'NaN', 'Infinity', `${Date.now()}`))
        .map((ts) => (body: string) => ({ timestamp: ts, signature: signSlackRequest(SIGNING_SECRET, body, ts) })),
      // Headers missing.
      fc.constantFrom(
        () => ({ signature: null }),
        (body: string) => ({ omitTimestamp: true, signature: signSlackRequest(SIGNING_SECRET, body, String(now())) }),
      ),
    );
    const slackCalls = slack.calls().length;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(forgery, validHost, async (forge, host) => {
        const body = slashBody({ text: `${host} --reason forged`, user: APPROVER });
        const f = forge(body);
        const before = snapshot(h);
        const res = await h.route(
          signedRequest(f.body ? f.body(body) : body, {
            ...(f.timestamp !== undefined ? { timestamp: f.timestamp } : {}),
            ...(f.signature !== undefined ? { signature: f.signature } : {}),
            ...(f.omitTimestamp ? { omitTimestamp: true } : {}),
          }),
        );
        if (res.status !== 401) accepted++;
        expect(res).toMatchObject({ status: 401, body: '' });
        expect(snapshot(h)).toEqual(before);
        expect(h.jobs).toEqual([]);
      }),
      { numRuns: RUNS },
    );
    expect(accepted).toBe(0);
    expect(slack.calls().length).toBe(slackCalls);
  });
});

describe('host names: nothing checkHostName accepts can change the Nova path or query', () => {
  const session = { getToken: async () => ({ value: 'tok', expiresAt: Date.now() + 3_600_000, computeUrl: COMPUTE_URL }), invalidate: () => undefined, authCount: 0 };
  /** A recording fake of the HTTP port: Nova at 2.93 that knows every host (answers with the name it was asked). */
  function recordingNova(pin?: string) {
    const http = createFakeHttp(versionRoute('2.93'), (req) => {
      const u = new URL(req.url);
      if (req.method === 'GET' && u.pathname === '/v2.1/os-services') {
        return { status: 200, body: { services: [{ id: '8e2a5f1c-0000-4000-8000-000000000001', host: u.searchParams.get('host'), binary: u.searchParams.get('binary') ?? 'nova-compute', state: 'up', status: 'enabled', forced_down: false }] } };
      }
      if (req.method === 'PUT') return { status: 200, body: { service: { host: (req.json as { host?: string })?.host ?? 'x', binary: 'nova-compute', forced_down: true } } };
      return undefined;
    });
    return { http, nova: createNovaClient({ session, http, ...(pin ? { microversion: pin } : {}) }) };
  }

  /** Every URL the client built is one of Nova's four, with only `binary` and `host` in the query. */
  function checkRequests(requests: NovaHttpRequest[], host: string) {
    for (const req of requests) {
      const u = new URL(req.url);
      expect(`${u.protocol}//${u.host}`).toBe(new URL(COMPUTE_URL).origin);
      expect(u.hash).toBe('');
      expect(u.pathname).toMatch(/^\/v2\.1\/(?:|os-services|os-services\/force-down|os-services\/8e2a5f1c-0000-4000-8000-000000000001)$/);
      const keys = [...u.searchParams.keys()];
      expect(keys.every((k) => k === 'binary' || k === 'host')).toBe(true);
      expect(new Set(keys).size).toBe(keys.length);
      if (u.searchParams.has('host')) expect(u.searchParams.get('host')).toBe(host);
      if (u.searchParams.has('binary')) expect(u.searchParams.get('binary')).toBe(COMPUTE_BINARY);
      if (req.json !== undefined) {
        const body = req.json as Record<string, unknown>;
        expect(Object.keys(body).sort()).toEqual(u.pathname.endsWith('/force-down') ? ['binary', 'forced_down', 'host'] : ['forced_down']);
        if ('host' in body) expect(body.host).toBe(host);
      }
    }
  }

  // Candidate host names from several directions; the property only uses those checkHostName accepts.
  const candidate = fc.oneof(
    validHost,
    fc.domain(),
    fc.string({ unit: fc.constantFrom(...'aZ09_-.'.split(''), '/', '?', '#', '%', '&', '=', ' ', '\n', '\u0000', ':', '@', '\\', '+', ';'), maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
  );

  it(`${RUNS} accepted names: only Nova's own paths, and the host only as the host query value or JSON field`, async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(candidate, async (host) => {
        if (checkHostName(host) !== undefined) return;
        checked++;
        for (const pin of [undefined, '2.11']) {
          const { http, nova } = recordingNova(pin);
          expect((await nova.getService(host)).ok).toBe(true);
          expect((await nova.setForcedDown(host, true)).ok).toBe(true);
          checkRequests(http.requests, host);
        }
      }),
      { numRuns: RUNS },
    );
    expect(checked).toBeGreaterThan(RUNS / 4);
  });

  it(`${RUNS} strings with a URL or control character, or too long: all refused`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom('/', '?', '#', '%', '&', '=', ' ', '\t', '\n', '\r', '\u0000', '\u007f', ':', '@', '\\', '+', ';', ',', '"', "'", '<', '>', '{', '}'), fc.string({ maxLength: 20 })).map(([a, c, b]) => `${a}${c}${b}`),
          fc.string({ minLength: 254, maxLength: 400 }),
        ),
        (host) => {
          expect(checkHostName(host)).toBeDefined();
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('authorization: 0 Nova calls unless an approver confirms, in an allowed channel, under the two-person rule', () => {
  it('generated requesters, channels, clickers and submitters, through Slack to the worker: PUTs at Nova only when allowed', async () => {
    let forced = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(REQUESTER, APPROVER, STRANGER),
        fc.constantFrom(CHANNEL, OTHER_CHANNEL),
        fc.constantFrom(REQUESTER, APPROVER, APPROVER2, STRANGER),
        fc.boolean(),
        async (requester, channel, confirmer, twoPerson) => {
          const x = twoPerson ? h2 : h;
          const host = `authz${++hostSeq}`;
          const puts = openstack.count('PUT', /os-services/);
          const opened = await send(x, slashBody({ text: host, user: requester, channel }));
          expect(opened.status).toBe(200);
          await x.drain();
          const request = [...x.state.requests.values()].find((r) => r.host === host);
          if (channel !== CHANNEL) {
            expect(JSON.parse(opened.body)).toMatchObject({ response_type: 'ephemeral' });
            expect(request).toBeUndefined();
            expect(openstack.count('PUT', /os-services/)).toBe(puts);
            return;
          }
          expect(request?.messageTs).toBeTruthy();
          const modals = slack.calls('views.open').length;
          const click = await send(
            x,
            payloadBody({
              type: 'block_actions',
              user: { id: confirmer },
              team: { id: 'T0FAKE0001' },
              channel: { id: CHANNEL },
              trigger_id: '1.2.3',
              response_url: slack.responseUrl('authz'),
              container: { type: 'message', channel_id: CHANNEL, message_ts: request!.messageTs },
              actions: [{ type: 'button', action_id: ACTION_IDS.confirmFenced, block_id: CARD_ACTIONS_BLOCK_ID, value: request!.id, action_ts: '1' }],
            }),
          );
          expect(click.status).toBe(200);
          // The modal the click opened (an approver's), else one forged with a nonce never issued: the same checks apply.
          const modal = slack
            .calls('views.open')
            .slice(modals)
            .map((c) => (c.body.view as { private_metadata?: string }).private_metadata)
            .find((m) => modalRequestId(m) === request!.id);
          const submit = await send(
            x,
            payloadBody({
              type: 'view_submission',
              user: { id: confirmer },
              team: { id: 'T0FAKE0001' },
              view: {
                id: 'V0AUTHZ',
                type: 'modal',
                callback_id: FENCE_MODAL_CALLBACK_ID,
                private_metadata: modal ?? encodeModalMetadata({ id: request!.id, nonce: 'never-issued' }),
                state: {
                  values: {
                    [MODAL_INPUTS.method.blockId]: { [MODAL_INPUTS.method.actionId]: { type: 'static_select', selected_option: { value: 'bmc' } } },
                    [MODAL_INPUTS.verified.blockId]: { [MODAL_INPUTS.verified.actionId]: { type: 'checkboxes', selected_options: [{ value: VERIFIED_OPTION_VALUE }] } },
                  },
                },
              },
            }),
          );
          expect(submit.status).toBe(200);
          await x.drain();
          const allowed = (confirmer === APPROVER || confirmer === APPROVER2) && !(twoPerson && confirmer === requester);
          expect(slack.calls('views.open').length - modals).toBe(allowed ? 1 : 0);
          expect(openstack.count('PUT', /os-services/) - puts).toBe(allowed ? 1 : 0);
          expect(x.state.requests.get(request!.id)?.state).toBe(allowed ? 'succeeded' : 'pending');
          if (allowed) forced++;
        },
      ),
      { numRuns: 300 },
    );
    expect(forced).toBeGreaterThan(30);
  });
});

describe('a correctly signed request (someone holding the signing secret) cannot aim the bot at other URLs', () => {
  it('a response_url that is not Slack\'s: 400, nothing recorded, nothing posted anywhere', async () => {
    const { createServer } = await import('node:http');
    let hits = 0;
    const canary = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
    const canaryUrl = `http://127.0.0.1:${(canary.address() as { port: number }).port}/steal`;
    try {
      const elsewhere = fc.oneof(
        fc.constantFrom(canaryUrl, 'http://169.254.169.254/latest/meta-data/', 'https://hooks.slack.com.evil.example/x', 'http://hooks.slack.com/commands/x', 'file:///etc/passwd', 'not a url'),
        fc.webUrl().filter((u) => !u.startsWith('https://hooks.slack.com/')),
      );
      await fc.assert(
        fc.asyncProperty(elsewhere, fc.constantFrom('status', 'list', 'help', 'open', 'click'), async (url, kind) => {
          const before = snapshot(h);
          const request = kind === 'click' ? await pending(h) : undefined;
          const body =
            kind === 'click'
              ? payloadBody({
                  type: 'block_actions',
                  user: { id: STRANGER },
                  team: { id: 'T0FAKE0001' },
                  response_url: url,
                  actions: [{ type: 'button', action_id: ACTION_IDS.confirmFenced, block_id: CARD_ACTIONS_BLOCK_ID, value: request!.id, action_ts: '1' }],
                })
              : new URLSearchParams({ command: '/force-down', text: kind === 'open' ? `ssrf${++hostSeq}` : kind === 'status' ? 'status compute1' : kind, user_id: REQUESTER, channel_id: CHANNEL, response_url: url }).toString();
          const after = kind === 'click' ? snapshot(h) : before;
          const res = await send(h, body);
          expect(res.status).toBe(400);
          expect(h.jobs).toEqual([]);
          expect(snapshot(h)).toEqual(after);
          await h.drain();
        }),
        { numRuns: 1_000 },
      );
      expect(hits).toBe(0);
      // Slack's own response_url host is accepted.
      const ok = await send(h, new URLSearchParams({ command: '/force-down', text: 'help', user_id: REQUESTER, channel_id: CHANNEL, response_url: 'https://hooks.slack.com/commands/T0FAKE0001/1/x' }).toString());
      expect(ok.status).toBe(200);
    } finally {
      canary.close();
    }
  });
});
