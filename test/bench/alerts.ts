// `npm run bench` (alerts part): the alert webhooks through the local bot
// (npm start's server and router, SQLite, in-process worker), a loopback fake
// of Slack's Web API that does not rate-limit, and the real Nova + Keystone lab.
//
//  1. Webhook → card posted: an Alertmanager webhook for one host until the
//     card's chat.postMessage reaches Slack (p50/p99), with the time spent in
//     Nova (the card's lookup) measured and taken out, as the goal says.
//  2. A 200-host storm in one webhook: until every host is recorded and shown
//     in the channel (all grouped messages posted), and how many messages.
// Medians and percentiles over many rounds; the machines are noisy.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NovaGateway } from '../../src/app/ports.js';
import { startLocalBot } from '../../src/local/bot.js';
import { createJsonLogger } from '../../src/runtime/logger.js';
import { startFakeSlackApi } from '../fakes/slack-api.js';
import setupLab from '../integration/global-setup.js';
import { loadLab } from '../integration/lab.js';

const ROUNDS = Number(process.env.BENCH_ALERT_ROUNDS ?? 50);
const WARM_UP = 5;
/**
 * Rounds are spaced so that Slack's pace (the bot's per-channel pacer: about one message a second after a
 * burst of five) never holds a card back: after a round's Slack calls (the card and its thread line), the
 * next round waits until the pacer has earned them back. The figure is our latency, not the queue behind
 * Slack's limit that back-to-back cards in one channel would build (and must build: Slack allows about
 * one message a second per channel).
 */
const SLACK_PACE_MS = 1_100;
const STORMS = Number(process.env.BENCH_STORMS ?? 5);
const TOKEN = `bench-${randomBytes(8).toString('hex')}`;
const CHANNEL = 'C0BENCH001';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

const teardown = await setupLab();
const lab = loadLab();
const slack = await startFakeSlackApi();
const dirs: string[] = [];

async function bot(windowSeconds: number) {
  const dir = mkdtempSync(join(tmpdir(), 'fd-bench-alerts-'));
  dirs.push(dir);
  const secretFile = join(dir, 'secret.json');
  writeFileSync(secretFile, JSON.stringify({ slack: { signingSecret: 'bench', botToken: 'xoxb-bench' }, alerts: { alertmanager: { token: TOKEN } }, clouds: { lab: lab.clouds.admin } }));
  const b = await startLocalBot({
    env: {
      PORT: '0',
      FORCE_DOWN_DB: join(dir, 'db.sqlite'),
      FORCE_DOWN_SECRET_FILE: secretFile,
      SLACK_API_URL: slack.apiUrl,
      FORCE_DOWN_APPROVERS: 'U0BENCH001',
      FORCE_DOWN_CHANNEL: CHANNEL,
      FORCE_DOWN_GROUP_WINDOW_SECONDS: String(windowSeconds),
      // The bench measures speed: its storms and rounds stay under the flood limits (issue #11, 4).
      FORCE_DOWN_GROUP_MAX_HOSTS: '1000',
      FORCE_DOWN_ALERT_MAX_NEW_PER_MINUTE: '100000',
    },
    log: createJsonLogger({ write: () => {} }),
  });
  // Time spent in Nova, to take it out of the webhook → card figure.
  let novaMs = 0;
  const nova = b.deps.nova;
  b.deps.nova = (cloud) => {
    const g = nova(cloud);
    if (!g) return g;
    const timed =
      <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
      async (...a: A) => {
        const t0 = performance.now();
        try {
          return await fn(...a);
        } finally {
          novaMs += performance.now() - t0;
        }
      };
    const wrapped: NovaGateway = { getService: timed(g.getService), listComputeServices: timed(g.listComputeServices), setForcedDown: timed(g.setForcedDown) };
    return wrapped;
  };
  return { b, novaMs: () => novaMs };
}

const webhook = (hosts: string[], alertname: string) =>
  JSON.stringify({
    version: '4',
    status: 'firing',
    receiver: 'force-down',
    groupKey: `{}:{alertname="${alertname}"}`,
    truncatedAlerts: 0,
    externalURL: 'http://alertmanager.example:9093',
    groupLabels: { alertname },
    commonLabels: { alertname },
    commonAnnotations: {},
    alerts: hosts.map((host) => ({
      status: 'firing',
      labels: { alertname, host },
      annotations: { summary: `${host} stopped answering` },
      startsAt: new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example:9090/graph',
      fingerprint: randomBytes(8).toString('hex'),
    })),
  });

async function send(url: string, body: string): Promise<void> {
  const res = await fetch(`${url}/alerts/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
  if (res.status !== 200) throw new Error(`bench: webhook answered ${res.status}: ${await res.text()}`);
}

try {
  // 1. One host a webhook; no grouping window, so every webhook posts its own card.
  const single = await bot(0);
  const total: number[] = [];
  const excl: number[] = [];
  const ack: number[] = [];
  // Lab hosts (a real Nova view on the card), each request cancelled after its round so the next can open.
  const hosts = lab.hosts.compute;
  let lastSlackCall = 0;
  let lastCalls = 0;
  for (let i = 0; i < ROUNDS + WARM_UP; i++) {
    const host = hosts[i % hosts.length]!;
    const wait = lastSlackCall + lastCalls * SLACK_PACE_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const before = single.novaMs();
    const posted = slack.waitFor('chat.postMessage', (c) => c.body.thread_ts === undefined && JSON.stringify(c.body.blocks).includes(`Force down ${host}`), 10_000);
    const t0 = performance.now();
    await send(single.b.url, webhook([host], 'HostDown'));
    const t1 = performance.now();
    await posted;
    const t2 = performance.now();
    await single.b.queue.idle();
    const nova = single.novaMs() - before;
    if (i >= WARM_UP) {
      // The first rounds warm up the JIT, the SQLite file and the connections.
      ack.push(t1 - t0);
      total.push(t2 - t0);
      excl.push(t2 - t0 - nova);
    }
    const open = await single.b.deps.store.findOpen('lab', host, 'force-down');
    if (open) await single.b.deps.store.transition(open.id, ['pending'], 'cancelled', new Date().toISOString(), {}, 'U0BENCH001');
    const calls = slack.calls().filter((c) => c.method === 'chat.postMessage' || c.method === 'chat.update');
    lastSlackCall = Math.max(0, ...calls.map((c) => c.at));
    lastCalls = calls.length;
    slack.reset();
  }
  await single.b.close();

  // 2. The storm: 200 hosts in one webhook, into a fresh bot each time.
  const storm: number[] = [];
  let messages = 0;
  for (let s = 0; s < STORMS; s++) {
    const st = await bot(30);
    const names = Array.from({ length: 200 }, (_, i) => `storm${s}-node${String(i).padStart(3, '0')}`);
    slack.reset();
    // Shown: every grouped message posted (its thread line, paced behind them, is not part of it).
    const cards = () => slack.calls('chat.postMessage').filter((c) => c.body.thread_ts === undefined);
    const shownAll = (async () => {
      for (;;) {
        const text = cards().map((c) => JSON.stringify(c.body.blocks)).join('\n');
        if (names.every((n) => text.includes(n))) return performance.now();
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const t0 = performance.now();
    await send(st.b.url, webhook(names, `RackDown${s}`));
    const t1 = await shownAll;
    await st.b.queue.idle();
    const posted = cards();
    const text = posted.map((c) => JSON.stringify(c.body.blocks)).join('\n');
    const missing = names.filter((n) => !text.includes(n));
    if (missing.length > 0) throw new Error(`bench: storm left ${missing.length} hosts unshown`);
    const recorded = (await st.b.deps.store.listByState('pending')).length;
    if (recorded !== 200) throw new Error(`bench: storm recorded ${recorded} of 200`);
    storm.push(t1 - t0);
    messages = posted.length;
    await st.b.close();
  }

  const row = (name: string, xs: number[], goal: string) =>
    console.log(`${name.padEnd(52)} p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms   p99 ${pct(xs, 99).toFixed(1).padStart(7)} ms   ${goal}`);
  console.log(`\nalert webhooks through the local bot (SQLite, in-process worker, fake Slack without rate limits; ${ROUNDS} rounds spaced at Slack's pace, ${SLACK_PACE_MS} ms a message)\n`);
  row('webhook answered (2xx)', ack, '');
  row('webhook → card posted, Nova included', total, '');
  row('webhook → card posted, excluding Nova', excl, `goal p99 ≤ 100 ms ${pct(excl, 99) <= 100 ? 'met' : 'NOT met'}`);
  console.log(
    `200-host storm, webhook → all recorded and shown      median ${pct(storm, 50).toFixed(0).padStart(5)} ms (${STORMS} storms, ${messages} messages)   goal ≤ 2000 ms ${pct(storm, 50) <= 2000 ? 'met' : 'NOT met'}`,
  );
} finally {
  await slack.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await teardown?.();
}
