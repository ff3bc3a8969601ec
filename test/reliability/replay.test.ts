// Issue #11, 6: a replayed signed modal submission must not re-run a request. Against the real bot (a
// child process: `npm start`'s local bot, SQLite, in-process worker) and the real lab's Nova behind the
// fault proxy (hosts fault3 and fault4), from outside the bot's process: a captured signed
// view_submission is sent again, byte for byte (same timestamp and signature, so within Slack's 5
// minutes it is as valid as the first), while the request runs and after Nova refused it. Each modal
// carries a single-use nonce (its private_metadata); the confirmation consumes it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeModalMetadata, modalRequestId } from '../../src/slack/envelope.js';
import { ACTION_IDS, MODAL_INPUTS } from '../../src/slack/ids.js';
import { FORM_OUT_OF_DATE_TEXT } from '../../src/slack/messages.js';
import { signSlackRequest } from '../fakes/slack-signature.js';
import { createSqliteStore } from '../../src/store/sqlite.js';
import { startFaultyOpenStack, type FaultyOpenStack } from '../fakes/fault-proxy.js';
import { startFakeSlackApi, type FakeSlackApi } from '../fakes/slack-api.js';
import { createNovaProbe, loadLab, type Lab } from '../integration/lab.js';
import { EVENT_DEADLINE_MS, until } from '../integration/wait.js';
import { buttonsOf, fenceValues, payloadBody, user, viewSubmission, type SlackUser } from '../integration/slack-helpers.js';
import { startChildBot, type ChildBot } from './child-bot.js';
import { through } from './harness.js';
import { createSlackFlow, FLOW_CHANNEL } from './slack-flow.js';

const SIGNING = 'replay-signing-secret-0a9b8c7d';
const REQUESTER = user('U0REQUEST1', 'requester');
const APPROVER = user('U0APPROVE1', 'approver');
const APPROVER2 = user('U0APPROVE2', 'approver2');
/** Nova's own PUT /os-services/{uuid} (microversion ≥ 2.53), counted at the proxy: every attempt, forwarded or not. */
const PUT_BY_ID = /\/os-services\/[0-9a-f-]{36}$/;
const FORBIDDEN = { kind: 'status' as const, status: 403, body: { forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:os-services:update to be performed." } } };

let lab: Lab;
let probe: ReturnType<typeof createNovaProbe>;
let os: FaultyOpenStack;
let slack: FakeSlackApi;
let bot: ChildBot;
let dir: string;
let db: string;
let flow: ReturnType<typeof createSlackFlow>;

beforeAll(async () => {
  lab = loadLab();
  probe = createNovaProbe(lab);
  os = await startFaultyOpenStack({ keystone: lab.keystone, nova: lab.nova });
  slack = await startFakeSlackApi();
  dir = mkdtempSync(join(tmpdir(), 'fd-replay-'));
  db = join(dir, 'force-down.sqlite');
  const secretFile = join(dir, 'secret.json');
  writeFileSync(secretFile, JSON.stringify({ slack: { signingSecret: SIGNING, botToken: 'xoxb-replay' }, clouds: { lab: through(lab.clouds.admin, os.authUrl) } }), { mode: 0o600 });
  bot = await startChildBot({
    PORT: '0',
    FORCE_DOWN_DB: db,
    FORCE_DOWN_SECRET_FILE: secretFile,
    SLACK_API_URL: slack.apiUrl,
    FORCE_DOWN_APPROVERS: `${APPROVER.id},${APPROVER2.id}`,
    FORCE_DOWN_CHANNEL: FLOW_CHANNEL.id,
    // fault3/4 are reset between tests (which moves the updated_at the heartbeat watch reads): not the point here.
    FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0',
  });
  flow = createSlackFlow({ slack, url: () => bot.url, signingSecret: SIGNING, db, cloud: 'lab' });
}, 120_000);

afterEach(async () => {
  os.clearFaults();
  await bot.idle();
  for (const h of [lab.hosts.fault[2]!, lab.hosts.fault[3]!]) await probe.reset(h);
});

afterAll(async () => {
  await bot?.close();
  await os?.close();
  await slack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  for (const h of [lab.hosts.fault[2], lab.hosts.fault[3]]) if (h) await probe?.reset(h);
});

/** A signed request, captured: the exact bytes and headers Slack sent, to send again as they are. */
interface Captured {
  body: string;
  headers: Record<string, string>;
}

function signedSubmission(view: Record<string, unknown>, who: SlackUser): Captured {
  const body = payloadBody(viewSubmission({ user: who, view, values: fenceValues({ method: 'bmc', verified: true, note: 'BMC says off' }) }));
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signSlackRequest(SIGNING, body, timestamp) },
  };
}

async function send(c: Captured): Promise<{ status: number; body: string; json: Record<string, unknown> | undefined }> {
  const res = await fetch(`${bot.url}/slack/events`, { method: 'POST', headers: c.headers, body: c.body });
  const body = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = body ? (JSON.parse(body) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, body, json };
}

const outOfDate = { response_action: 'errors', errors: { [MODAL_INPUTS.verified.blockId]: FORM_OUT_OF_DATE_TEXT } };

/** The request as the bot's SQLite file has it now. */
async function stored(id: string) {
  const peek = createSqliteStore({ path: db });
  try {
    return await peek.get(id);
  } finally {
    peek.close();
  }
}

/** `who` presses Confirm fenced… (or Retry…) on the card: the modal the bot opened for it. */
async function openModal(requestId: string, cardTs: string, who: SlackUser): Promise<Record<string, unknown>> {
  const before = slack.calls('views.open').length;
  expect((await flow.click(cardTs, ACTION_IDS.confirmFenced, who)).status).toBe(200);
  const call = await slack.waitFor(
    'views.open',
    (c) => slack.calls('views.open').indexOf(c) >= before && modalRequestId((c.body.view as { private_metadata?: string }).private_metadata) === requestId,
    EVENT_DEADLINE_MS,
  );
  return call.body.view as Record<string, unknown>;
}

const nonceOf = (view: Record<string, unknown>) => decodeModalMetadata(String(view.private_metadata))?.nonce;
const puts = () => os.nova.count('PUT', PUT_BY_ID);
const cardOfTs = (ts: string) => slack.message(FLOW_CHANNEL.id, ts);
const threadOf = (ts: string) => slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === ts).length;

describe('a captured signed modal submission, sent again', () => {
  it('while the request runs and after Nova refused it: "already used", no second Nova call, the card unchanged; Retry… opens a new form that works', async () => {
    const host = lab.hosts.fault[2]!;
    expect((await flow.slash(host, REQUESTER)).status).toBe(200);
    const { requestId, cardTs } = await flow.cardOf(host);

    const modal = await openModal(requestId, cardTs, APPROVER);
    const nonce = nonceOf(modal);
    expect(nonce).toBeTruthy();
    // The worker's heartbeat check updates the open modal: same request, same form.
    const updated = await slack.waitFor('views.update', (c) => modalRequestId((c.body.view as { private_metadata?: string }).private_metadata) === requestId, EVENT_DEADLINE_MS);
    expect(String(updated.body.view_id)).toMatch(/^V0FAKE/);
    expect((updated.body.view as { private_metadata?: string }).private_metadata).toBe(modal.private_metadata);

    // Nova's PUT hangs (the request stays `executing`), then is refused (403, not retried).
    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, times: 1, fault: { kind: 'hang' } });
    const captured = signedSubmission(modal, APPROVER);
    expect(await send(captured)).toMatchObject({ status: 200, body: '' });
    await os.nova.waitFor('PUT', PUT_BY_ID, EVENT_DEADLINE_MS);
    expect((await stored(requestId))?.state).toBe('executing');

    // The same bytes again while it runs: refused, nothing changes.
    expect((await send(captured)).json).toEqual(outOfDate);
    expect((await stored(requestId))?.state).toBe('executing');

    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, fault: FORBIDDEN });
    os.nova.releaseHung(); // the hung PUT fails (a closed socket): retried once more, refused with 403
    await until('the request to fail', async () => ((await stored(requestId))?.state === 'failed' ? true : undefined));
    await until('the card to show ❌ with Retry…', async () => (buttonsOf(cardOfTs(cardTs)?.blocks).some((b) => b.text?.text === 'Retry…') ? true : undefined));
    await bot.idle();
    const putsAfterFailure = puts();
    const card = structuredClone(cardOfTs(cardTs));
    const thread = threadOf(cardTs);
    const failed = await stored(requestId);
    expect(failed).toMatchObject({ state: 'failed', outcome: { code: 'NOVA_FORBIDDEN' } });

    // After the failure: the captured submission, twice more. Refused; no Nova call; the card and its thread untouched.
    for (let i = 0; i < 2; i++) expect((await send(captured)).json).toEqual(outOfDate);
    await bot.idle();
    expect(puts()).toBe(putsAfterFailure);
    expect(cardOfTs(cardTs)).toEqual(card);
    expect(threadOf(cardTs)).toBe(thread);
    expect(await stored(requestId)).toEqual(failed);

    // Retry… on the card: a new modal, a new nonce; it confirms once Nova lets it.
    os.clearFaults();
    const retry = await openModal(requestId, cardTs, APPROVER);
    expect(nonceOf(retry)).toBeTruthy();
    expect(nonceOf(retry)).not.toBe(nonce);
    expect((await stored(requestId))?.state).toBe('failed');
    expect(await send(signedSubmission(retry, APPROVER))).toMatchObject({ status: 200, body: '' });
    await until('forced down in Nova', async () => ((await probe.service(host)).forced_down ? true : undefined));
    await bot.idle();
    expect((await stored(requestId))?.state).toBe('succeeded');
    expect(puts()).toBe(putsAfterFailure + 1);

    // And the first capture, once more after success: still refused, still one call.
    expect((await send(captured)).json).toEqual(outOfDate);
    await bot.idle();
    expect(puts()).toBe(putsAfterFailure + 1);
  });

  it('50 concurrent copies of one submission: one Nova call; a second approver\'s modal opened before the failure does not confirm the failed request; a fresh Retry… does', async () => {
    const host = lab.hosts.fault[3]!;
    expect((await flow.slash(host, REQUESTER)).status).toBe(200);
    const { requestId, cardTs } = await flow.cardOf(host);
    const mine = await openModal(requestId, cardTs, APPROVER);
    const theirs = await openModal(requestId, cardTs, APPROVER2);
    expect(nonceOf(theirs)).not.toBe(nonceOf(mine));

    os.nova.inject({ method: 'PUT', path: PUT_BY_ID, fault: FORBIDDEN });
    const before = puts();
    const captured = signedSubmission(mine, APPROVER);
    const results = await Promise.all(Array.from({ length: 50 }, () => send(captured)));
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    expect(results.filter((r) => r.body === '')).toHaveLength(1);
    for (const r of results.filter((x) => x.body !== '')) expect(r.json).toEqual(outOfDate);
    await until('the request to fail', async () => ((await stored(requestId))?.state === 'failed' ? true : undefined));
    await bot.idle();
    expect(puts() - before).toBe(1);

    // The other approver's modal, opened before the first confirmation: out of date now, nothing runs.
    expect((await send(signedSubmission(theirs, APPROVER2))).json).toEqual(outOfDate);
    await bot.idle();
    expect(puts() - before).toBe(1);
    expect((await stored(requestId))?.state).toBe('failed');

    // Their fresh Retry… works.
    os.clearFaults();
    const retry = await openModal(requestId, cardTs, APPROVER2);
    expect(await send(signedSubmission(retry, APPROVER2))).toMatchObject({ status: 200, body: '' });
    await until('forced down in Nova', async () => ((await probe.service(host)).forced_down ? true : undefined));
    await bot.idle();
    expect(await stored(requestId)).toMatchObject({ state: 'succeeded', confirmation: { by: APPROVER2.id } });
    expect(puts() - before).toBe(2);
  });
});
