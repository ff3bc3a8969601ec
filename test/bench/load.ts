// `npm run bench` (last part): load against the local bot, as issue 6 asks: 1,000 Slack-signed
// requests and 1,000 alert webhooks, interleaved, 50 at a time, against startLocalBot (its own
// process: HTTP server, SQLite, in-process worker) with a fake Slack Web API and a fake Keystone +
// Nova (the lab is not loaded). Reports errors, latency per request kind (p50/p99/max), the Slack
// calls the alert cards took, and the bot's memory after a full GC at checkpoints. Figures only:
// the pass/fail checks are in test/reliability/load.test.ts.
// Run with `node --expose-gc` (npm run bench does) so that this process's own readings are stable too.
import { pct, runLoad, WEBHOOK_KINDS, type RequestKind } from '../reliability/load-run.js';

const REQUESTS = Number(process.env.BENCH_LOAD_REQUESTS ?? 1_000);
const WEBHOOKS = Number(process.env.BENCH_LOAD_WEBHOOKS ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_LOAD_CONCURRENCY ?? 50);

console.log(`\nload: ${REQUESTS} signed Slack requests and ${WEBHOOKS} alert webhooks, interleaved, ${CONCURRENCY} concurrent, against the local bot (SQLite, in-process worker)\n`);
const r = await runLoad({ requests: REQUESTS, webhooks: WEBHOOKS, concurrency: CONCURRENCY, onProgress: (line) => console.log(line) });

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
const all = Object.values(r.latency).flat();
const row = (name: string, xs: number[]) =>
  xs.length === 0
    ? console.log(`${name.padEnd(52)} n     0`)
    : console.log(`${name.padEnd(52)} n ${String(xs.length).padStart(5)}   p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms   p99 ${pct(xs, 99).toFixed(1).padStart(7)} ms   max ${Math.max(...xs).toFixed(1).padStart(7)} ms`);
console.log('');
row('all requests', all);
const names: Record<RequestKind, string> = {
  'slash-open': '/force-down <host> → ack (card by the worker)',
  click: 'Confirm fenced… → views.open → ack',
  submit: 'modal submitted → ack (Nova call by the worker)',
  status: '/force-down status <host> → ack',
  help: '/force-down help, garbage → ephemeral help',
  'webhook-firing': 'webhook: firing, new host → 200 (request recorded)',
  'webhook-rack': 'webhook: firing, 5 new hosts → 200',
  'webhook-repeat': 'webhook: repeat of a firing alert → 200 (seen N)',
  'webhook-resolved': 'webhook: resolved → 200 (marked, or recovery check)',
};
for (const [kind, xs] of Object.entries(r.latency) as [RequestKind, number[]][]) row(names[kind], xs);
row('all webhooks', WEBHOOK_KINDS.flatMap((k) => r.latency[k]));
row('modal submitted → PUT reached Nova', r.novaDelay);
console.log(`\nthroughput ${(r.requests / (r.wallMs / 1000)).toFixed(0)} requests/s (${r.requests} in ${(r.wallMs / 1000).toFixed(2)} s, ${r.webhooks} of them webhooks)`);
console.log(`worker caught up (queue idle) ${(r.drainMs / 1000).toFixed(1)} s after the last answer`);
console.log(`errors ${r.errors.length}${r.errors.length ? `: ${JSON.stringify(r.errors.slice(0, 3))}` : ''}; error log lines ${r.errorLogs.length}`);
console.log(`flows ${r.flows} measured (${r.succeeded} succeeded in the store, warm-up included); Nova PUTs ${r.novaPuts} (none from webhooks)`);
console.log(
  `alerts: ${r.alertHosts} hosts fired (warm-up included), one pending request each; their cards took ${r.alertChannelCalls} Slack calls in the alert channel` +
    ` (sent unpaced here; at Slack's ~1 call a second per channel that is ~${Math.round(r.alertChannelCalls / 60)} min before the channel is current)`,
);
const first = r.memory[0]!;
const last = r.memory.at(-1)!;
console.log(`\nbot memory after a full GC (rss / heapUsed):`);
for (const m of r.memory) console.log(`  after ${String(m.after).padStart(5)} requests${m === last ? ', queue idle' : m === first ? ' (warm-up done)' : ''}: ${mb(m.rss).padStart(9)} / ${mb(m.heapUsed).padStart(8)}`);
console.log(`  growth (warm-up done → queue idle): rss ${mb(last.rss - first.rss)}, heap ${mb(last.heapUsed - first.heapUsed)}`);
if (r.errors.length > 0) process.exitCode = 1;
