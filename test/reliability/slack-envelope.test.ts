// Issue #11, 3: signed envelopes smuggled past the envelope check. Someone holding the signing secret
// sends the real bot (a child process: `npm start`'s local bot, SQLite, in-process worker) correctly
// signed bodies with mixed forms (ssl_check + payload, command + payload), duplicated fields, extra
// fields that would change their meaning, response_urls elsewhere, url_verification challenges, from
// outside its process over HTTP. An "attacker" listener on 127.0.0.1 stands for every host that is not
// Slack's. Nova is a fake (it is not the point here); Slack's Web API and response_urls are the fake.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_IDS, CARD_ACTIONS_BLOCK_ID, FENCE_MODAL_CALLBACK_ID } from '../../src/slack/ids.js';
import { signSlackRequest } from '../fakes/slack-signature.js';
import { startFakeOpenStack, type FakeOpenStack } from '../fakes/fake-openstack.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { startChildBot, type ChildBot } from './child-bot.js';

const RUNS = Number(process.env.ENVELOPE_RUNS ?? process.env.FUZZ_RUNS ?? 10_000);
if (process.env.FUZZ_SEED) fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED) });

const SIGNING = 'envelope-signing-secret-6d5c4b3a';
const CHANNEL = 'C0ONCALL01';
const APPROVER = 'U0APPROVE1';
const REQUESTER = 'U0REQUEST1';

let slack: FakeSlackApi;
let openstack: FakeOpenStack;
let attacker: Server;
/** Every request the attacker's listener received (it must stay empty). */
const stolen: string[] = [];
let attackerUrl: string;
let bot: ChildBot;
let dir: string;
let db: Database.Database;

beforeAll(async () => {
  slack = await startFakeSlackApi();
  openstack = await startFakeOpenStack();
  attacker = createServer((req, res) => {
    stolen.push(`${req.method} ${req.url}`);
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as { port: number }).port}`;
  dir = mkdtempSync(join(tmpdir(), 'fd-envelope-'));
  const secretFile = join(dir, 'secret.json');
  const cloud = { auth: { auth_url: openstack.authUrl, username: 'admin', password: 'envelope-cloud-password', project_name: 'admin' }, region_name: 'RegionOne' };
  writeFileSync(secretFile, JSON.stringify({ slack: { signingSecret: SIGNING, botToken: 'xoxb-envelope' }, clouds: { lab: cloud } }), { mode: 0o600 });
  bot = await startChildBot({
    PORT: '0',
    FORCE_DOWN_DB: join(dir, 'force-down.sqlite'),
    FORCE_DOWN_SECRET_FILE: secretFile,
    SLACK_API_URL: slack.apiUrl,
    FORCE_DOWN_APPROVERS: APPROVER,
    FORCE_DOWN_CHANNEL: CHANNEL,
    FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0',
    // Cards of requests the generated slash commands open go out without Slack's 1/s spacing (not the point here).
    FORCE_DOWN_TEST_SLACK_PACING: 'off',
  });
  db = new Database(join(dir, 'force-down.sqlite'), { readonly: true, fileMustExist: true });
}, 120_000);

afterAll(async () => {
  db?.close();
  await bot?.close();
  await slack?.close();
  await openstack?.close();
  await new Promise<void>((resolve) => (attacker ? attacker.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Requests the bot has recorded (its SQLite file, read from outside). */
const recorded = () => (db.prepare('SELECT count(*) AS n FROM requests').get() as { n: number }).n;

async function post(body: string, contentType = 'application/x-www-form-urlencoded') {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const res = await fetch(`${bot.url}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': contentType, 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signSlackRequest(SIGNING, body, timestamp) },
    body,
  });
  return { status: res.status, body: await res.text() };
}

const form = (pairs: readonly (readonly [string, string])[]) => new URLSearchParams(pairs.map(([k, v]): [string, string] => [k, v])).toString();

describe('the issue\'s smuggled bodies, signed', () => {
  it('ssl_check + a block_actions payload aimed at the attacker: 400, nothing recorded, nothing posted anywhere', async () => {
    const before = recorded();
    const payload = {
      type: 'block_actions',
      user: { id: APPROVER },
      team: { id: 'T0FAKE0001' },
      trigger_id: '1.2.3',
      response_url: `${attackerUrl}/steal`,
      actions: [{ type: 'button', action_id: ACTION_IDS.cancelRequest, block_id: CARD_ACTIONS_BLOCK_ID, value: 'req-nope', action_ts: '1' }],
    };
    for (const body of [form([['ssl_check', '1'], ['payload', JSON.stringify(payload)]]), form([['payload', JSON.stringify(payload)], ['ssl_check', '1']]), form([['ssl_check', '1'], ['payload', JSON.stringify({ ...payload, response_url: slack.responseUrl('x') })]])]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toEqual({ error: 'mixed request: payload with ssl_check' });
    }
    await bot.idle();
    expect(stolen).toEqual([]);
    expect(recorded()).toBe(before);
  });

  it('a bare ssl_check: 200 at once, empty; a url_verification challenge: 400, not echoed', async () => {
    expect(await post('ssl_check=1&token=legacy-verification-token')).toEqual({ status: 200, body: '' });
    const challenge = await post(JSON.stringify({ token: 'x', challenge: 'echo-me-3f2a', type: 'url_verification' }), 'application/json');
    expect(challenge.status).toBe(400);
    expect(challenge.body).not.toContain('echo-me-3f2a');
    expect(JSON.parse(challenge.body)).toEqual({ error: 'url_verification: force-down does not use the Events API' });
  });

  it('odd payload shapes (Bolt\'s 500 before): 400 with a reason', async () => {
    for (const p of [{ type: 'block_actions' }, { type: 'view_submission', user: { id: APPROVER }, view: { callback_id: FENCE_MODAL_CALLBACK_ID, state: { values: [] } } }, { type: 'block_actions', user: { id: APPROVER }, actions: 'x' }, { type: 'shortcut', user: { id: APPROVER } }]) {
      const res = await post(form([['payload', JSON.stringify(p)]]));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error).toMatch(/^(block_actions|view_submission|payload type)/);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Generated envelopes

type Pair = readonly [string, string];
interface Case {
  contentType: string;
  pairs: Pair[] | undefined;
  raw: string | undefined;
  /** Set when the body is one of the valid kinds as generated, before any mutation. */
  clean: boolean;
}

describe(`${RUNS} signed envelopes with mixed, duplicated and extra fields`, () => {
  it('never a 5xx; never a request to a host that is not Slack\'s; a refused body records nothing; what must be refused is', async () => {
    const good = () => slack.responseUrl('envelope');
    const elsewhere = fc.constantFrom(
      () => `${attackerUrl}/steal`,
      () => `${attackerUrl.replace('http:', 'https:')}/steal`,
      () => `http://hooks.slack.com.127.0.0.1.nip.invalid/x`,
      () => 'http://hooks.slack.com/commands/x', // Slack's host, but not https
      () => `http://user:pw@${new URL(slack.apiUrl).host}/response/x`,
      () => `${slack.url.replace('127.0.0.1', 'localhost')}/response/x`,
      () => 'not a url',
      () => 'file:///etc/passwd',
    );
    /** A response_url: mostly the fake Slack's (a Slack host as far as the bot knows), else elsewhere. */
    const responseUrl = fc.oneof({ weight: 4, arbitrary: fc.constant(good) }, { weight: 1, arbitrary: elsewhere }).map((f) => f());

    let seq = 0;
    const slashPairs = fc.record({ text: fc.constantFrom('help', 'status compute1', 'list', '--frob', 'open'), url: responseUrl, user: fc.constantFrom(REQUESTER, APPROVER) }).map(({ text, url, user }): Pair[] => [
      ['token', 'legacy-verification-token'],
      ['team_id', 'T0FAKE0001'],
      ['team_domain', 'fake'],
      ['channel_id', CHANNEL],
      ['channel_name', 'oncall'],
      ['user_id', user],
      ['user_name', 'someone'],
      ['command', '/force-down'],
      ['text', text === 'open' ? `env${++seq}` : text],
      ['api_app_id', 'A0FAKEAPP1'],
      ['response_url', url],
      ['trigger_id', '1.2.3'],
    ]);
    const click = fc.record({ url: responseUrl, action: fc.constantFrom(ACTION_IDS.cancelRequest, ACTION_IDS.confirmFenced) }).map(({ url, action }) => ({
      type: 'block_actions',
      user: { id: APPROVER, username: 'ann', team_id: 'T0FAKE0001' },
      team: { id: 'T0FAKE0001', domain: 'fake' },
      channel: { id: CHANNEL, name: 'oncall' },
      container: { type: 'message', message_ts: '1.1', channel_id: CHANNEL },
      message: { ts: '1.1' },
      trigger_id: '1.2.3',
      response_url: url,
      actions: [{ type: 'button', action_id: action, block_id: CARD_ACTIONS_BLOCK_ID, value: 'req-never-opened', action_ts: '1' }],
    }));
    const submission = fc.constant(null).map(() => ({
      type: 'view_submission',
      team: { id: 'T0FAKE0001' },
      user: { id: APPROVER },
      trigger_id: '1.2.3',
      view: { id: 'V0ENV', type: 'modal', callback_id: FENCE_MODAL_CALLBACK_ID, private_metadata: '{"id":"req-never-opened","nonce":"n"}', state: { values: {} } },
      response_urls: [],
    }));
    const payload = fc.oneof(click, submission) as fc.Arbitrary<Record<string, unknown>>;

    /** Fields that mean something to Slack, Bolt or another receiver, with values to match. */
    const meaningful = fc.oneof(
      fc.constant<Pair>(['ssl_check', '1']),
      click.map((p): Pair => ['payload', JSON.stringify(p)]),
      fc.constant<Pair>(['command', '/force-down']),
      fc.constant<Pair>(['type', 'url_verification']),
      fc.constant<Pair>(['challenge', 'echo-me']),
      fc.constant<Pair>(['event', '{"type":"message"}']),
      fc.constant<Pair>(['name', 'x']),
      fc.constant<Pair>(['actions', '[]']),
      responseUrl.map((u): Pair => ['response_url', u]),
      fc.constant<Pair>(['token', 'legacy-verification-token']),
      fc.constant<Pair>(['text', 'list']),
      fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 })).map(([k, v]): Pair => [k, v]),
    );
    const jsonExtra = fc.oneof(
      responseUrl.map((u) => ['response_url', u] as const),
      responseUrl.map((u) => ['response_urls', [{ response_url: u, block_id: 'b', action_id: 'a', channel_id: CHANNEL }]] as const),
      fc.constantFrom(
        ['ssl_check', 1] as const,
        ['command', '/force-down'] as const,
        ['event', { type: 'app_mention' }] as const,
        ['name', 'x'] as const,
        ['challenge', 'echo-me'] as const,
        ['type', 'shortcut'] as const,
        ['view', { callback_id: FENCE_MODAL_CALLBACK_ID, state: { values: {} } }] as const,
        ['actions', [{ type: 'button', action_id: ACTION_IDS.cancelRequest, value: 'x' }]] as const,
      ),
      fc.tuple(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 })),
    );

    /** The generated body: a valid kind, then mutations. */
    const envelope: fc.Arbitrary<Case> = fc.oneof(
      { weight: 3, arbitrary: slashPairs.map((pairs) => ({ kind: 'form' as const, pairs })) },
      { weight: 3, arbitrary: payload.map((p) => ({ kind: 'payload' as const, payload: p })) },
      { weight: 1, arbitrary: fc.constant({ kind: 'ssl' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'json' as const }) },
    ).chain((base) =>
      fc
        .record({
          extraForm: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(meaningful, { minLength: 1, maxLength: 3 }) }),
          extraJson: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(jsonExtra, { minLength: 1, maxLength: 2 }) }),
          duplicate: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat() }),
          duplicateJsonKey: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: responseUrl }),
          shuffle: fc.boolean(),
        })
        .map((m): Case => {
          if (base.kind === 'json') {
            return { contentType: 'application/json', pairs: undefined, raw: JSON.stringify({ token: 'x', challenge: 'echo-me', type: 'url_verification' }), clean: false };
          }
          let clean = m.extraForm.length === 0 && m.duplicate === undefined;
          let pairs: Pair[];
          if (base.kind === 'payload') {
            const p: Record<string, unknown> = { ...base.payload };
            for (const [k, v] of m.extraJson) p[k] = v;
            let json = JSON.stringify(p);
            if (m.duplicateJsonKey !== undefined) json = `{"response_url":${JSON.stringify(m.duplicateJsonKey)},${json.slice(1)}`;
            clean &&= m.extraJson.length === 0 && m.duplicateJsonKey === undefined;
            pairs = [['payload', json]];
          } else if (base.kind === 'ssl') {
            pairs = [['ssl_check', '1'], ['token', 'legacy-verification-token']];
          } else {
            pairs = [...base.pairs];
          }
          pairs.push(...m.extraForm);
          if (m.duplicate !== undefined) {
            const d = pairs[m.duplicate % pairs.length]!;
            pairs.push(d);
          }
          if (m.shuffle) pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
          // Valid as generated: the response_urls must be the fake Slack's.
          clean &&= !pairs.some(([k, v]) => k === 'response_url' && !v.startsWith(`${slack.url}/`));
          if (base.kind === 'payload') clean &&= !String(base.payload.response_url ?? `${slack.url}/`).startsWith(attackerUrl) && String(base.payload.response_url ?? `${slack.url}/`).startsWith(`${slack.url}/`);
          return { contentType: 'application/x-www-form-urlencoded', pairs, raw: undefined, clean };
        }),
    );

    /**
     * What the rules say must be refused, stated from the rules (not from the parser): a JSON body;
     * not exactly one of command / payload / ssl_check; a field twice; an ssl_check with more than
     * its token; a payload with any other field; a response_url (form, payload, response_urls) that
     * is not the fake Slack's; a key twice in the payload's JSON.
     */
    function mustRefuse(c: Case): string | undefined {
      if (!c.pairs) return 'JSON body';
      const keys = c.pairs.map(([k]) => k);
      const kinds = ['command', 'payload', 'ssl_check'].filter((k) => keys.includes(k));
      if (kinds.length !== 1) return 'not exactly one kind';
      if (new Set(keys).size !== keys.length) return 'a field twice';
      if (kinds[0] === 'ssl_check' && keys.some((k) => k !== 'ssl_check' && k !== 'token')) return 'ssl_check with more';
      if (kinds[0] === 'payload' && keys.length > 1) return 'payload with more';
      const urls: string[] = c.pairs.filter(([k]) => k === 'response_url').map(([, v]) => v);
      if (kinds[0] === 'payload') {
        const json = c.pairs[0]![1];
        if (json.startsWith('{"response_url":')) return 'a key twice in the JSON';
        const p = JSON.parse(json) as { response_url?: unknown; response_urls?: { response_url?: unknown }[] };
        if (p.response_url !== undefined) urls.push(String(p.response_url));
        for (const r of Array.isArray(p.response_urls) ? p.response_urls : []) urls.push(String(r.response_url));
      }
      if (urls.some((u) => !u.startsWith(`${slack.url}/`))) return 'a response_url elsewhere';
      return undefined;
    }

    let refused = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(envelope, async (c) => {
        const before = recorded();
        const res = await post(c.raw ?? form(c.pairs!), c.contentType);
        expect(res.status).toBeLessThan(500);
        const reason = mustRefuse(c);
        if (res.status === 400) {
          refused++;
          // A short JSON reason, and nothing recorded.
          const { error } = JSON.parse(res.body) as { error: string };
          expect(error.length).toBeGreaterThan(0);
          expect(error.length).toBeLessThan(120);
          expect(res.body).not.toContain('echo-me');
          expect(recorded()).toBe(before);
        } else {
          accepted++;
          expect(reason).toBeUndefined();
        }
        if (reason !== undefined) expect(res.status).toBe(400);
        if (c.clean) expect(res.status).toBe(200);
        expect(stolen).toEqual([]);
      }),
      { numRuns: RUNS },
    );
    // The worker's jobs (status / list replies on response_url, cards) have run: still nothing elsewhere.
    await bot.idle();
    expect(stolen).toEqual([]);
    expect(refused).toBeGreaterThan(RUNS / 4);
    expect(accepted).toBeGreaterThan(RUNS / 10);
    // Slack's side got the answers of the accepted ones (response_url posts to the fake).
    expect(slack.calls('response_url').length).toBeGreaterThan(0);
    const entries = bot.entries();
    // No accepted body reached the worker with a response_url that is not Slack's (its own check would log it),
    // and nothing failed unexpectedly.
    expect(entries.filter((e) => e.message === "response_url refused: not Slack's")).toEqual([]);
    expect(entries.filter((e) => e.level === 'error')).toEqual([]);
  }, 30 * 60_000);
});
