// `npm run bench` (second part): the api path's own cost.
//  1. Ack latency of signed slash commands and button clicks through the router
//     and Bolt (memory store; jobs recorded, not run: in AWS they go to the worker).
//     A button click includes views.open to a loopback fake of Slack's Web API.
//  (The cold start, init plus the first ack against a bare Bolt app, is test/bench/api-cold-ack.ts.)
import { performance } from 'node:perf_hooks';
import type { Job } from '../../src/app/ports.js';
import { openRequest } from '../../src/app/requests.js';
import { loadBotSettings } from '../../src/config/env.js';
import { secretDocumentSchema } from '../../src/config/schema.js';
import { composeRuntime } from '../../src/runtime/compose.js';
import { createRouter } from '../../src/runtime/router.js';
import { ACTION_IDS, CARD_ACTIONS_BLOCK_ID } from '../../src/slack/ids.js';
import { signSlackRequest } from '../fakes/slack-signature.js';
import { createMemoryStore } from '../fakes/memory-store.js';
import { startFakeSlackApi } from '../fakes/slack-api.js';

const ROUNDS = Number(process.env.BENCH_ACK_ROUNDS ?? 400);
const SIGNING = 'bench-signing-secret';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const median = (xs: number[]) => pct(xs, 50);

const slack = await startFakeSlackApi();
const jobs: Job[] = [];
const settings = loadBotSettings({
  FORCE_DOWN_SECRET_FILE: 'unused',
  FORCE_DOWN_APPROVERS: 'UAPPROVER',
  FORCE_DOWN_CHANNEL: 'CONCALL',
  SLACK_API_URL: slack.apiUrl,
});
const secret = secretDocumentSchema.parse({
  slack: { signingSecret: SIGNING, botToken: 'xoxb-bench' },
  clouds: { lab: { auth: { auth_url: 'http://127.0.0.1:9/v3', application_credential_id: 'x', application_credential_secret: 'y' } } },
});
const log = { info() {}, warn() {}, error() {} };
const runtime = composeRuntime({ settings, secret, store: createMemoryStore(), enqueue: async (j) => void jobs.push(j), log });
const route = createRouter({ slack: async () => runtime.slack, now: Date.now, log });

function signed(body: string) {
  const ts = String(Math.floor(Date.now() / 1000));
  return {
    method: 'POST',
    path: '/slack/events',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signSlackRequest(SIGNING, body, ts),
    },
    body,
  };
}
const slashBody = (host: string) =>
  new URLSearchParams({
    token: 'x', team_id: 'T1', channel_id: 'CONCALL', channel_name: 'oncall', user_id: 'UREQUESTER', user_name: 'req',
    command: '/force-down', text: `${host} --reason bench`, response_url: slack.responseUrl('bench'), trigger_id: '1.2.3',
  }).toString();
const clickBody = (id: string) =>
  new URLSearchParams({
    payload: JSON.stringify({
      type: 'block_actions', user: { id: 'UAPPROVER', username: 'approver' }, team: { id: 'T1' }, channel: { id: 'CONCALL' },
      trigger_id: '1.2.3', response_url: slack.responseUrl('bench'), container: { type: 'message', channel_id: 'CONCALL', message_ts: '1.1' },
      message: { ts: '1.1' }, actions: [{ type: 'button', action_id: ACTION_IDS.confirmFenced, block_id: CARD_ACTIONS_BLOCK_ID, value: id, action_ts: '1' }],
    }),
  }).toString();

async function timed(req: ReturnType<typeof signed>): Promise<number> {
  const t0 = performance.now();
  const res = await route(req);
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`bench: HTTP ${res.status} ${res.body}`);
  return ms;
}

// Warm up the JIT and the connection to the fake Slack, as a warm Lambda would be.
for (let i = 0; i < 30; i++) await timed(signed(slashBody(`warm${i}`)));
const slash: number[] = [];
const click: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  slash.push(await timed(signed(slashBody(`compute${i}`))));
  const opened = await openRequest(runtime.deps, {
    host: `click${i}`, action: 'force-down', origin: { kind: 'slash', userId: 'UREQUESTER', channelId: 'CONCALL' },
    requestedBy: 'UREQUESTER', channel: 'CONCALL',
  });
  if (opened.kind !== 'opened') throw new Error('bench: could not open a request');
  click.push(await timed(signed(clickBody(opened.request.id))));
}
if (slack.calls('views.open').length < ROUNDS) throw new Error('bench: clicks did not open the modal');
await slack.close();

const row = (name: string, xs: number[], goal: string) =>
  console.log(`${name.padEnd(52)} p50 ${median(xs).toFixed(2).padStart(7)} ms   p99 ${pct(xs, 99).toFixed(2).padStart(7)} ms   ${goal}`);
console.log(`\napi path: ack latency through the router and Bolt (${ROUNDS} each)\n`);
row('signed /force-down <host> → ack', slash, 'goal p99 ≤ 25 ms');
row('signed Confirm fenced… click → views.open → ack', click, 'goal p99 ≤ 25 ms');
console.log('\nThe api\'s cold start (init plus the first ack) is test/bench/api-cold-ack.ts.');
await runtime.close();
