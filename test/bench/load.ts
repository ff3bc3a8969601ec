// `npm run bench` (third part): load against the local bot, as issue 6 asks: 1,000 Slack-signed
// requests, 50 at a time, against startLocalBot (its own process: HTTP server, SQLite, in-process
// worker) with a fake Slack Web API and a fake Keystone + Nova (the lab is not loaded). Reports
// errors, latency per request kind (p50/p99/max) and the bot's memory after a full GC at
// checkpoints. Figures only: the pass/fail checks are in test/reliability/load.test.ts.
// Run with `node --expose-gc` (npm run bench does) so that this process's own readings are stable too.
import { pct, runLoad, type RequestKind } from '../reliability/load-run.js';

const REQUESTS = Number(process.env.BENCH_LOAD_REQUESTS ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_LOAD_CONCURRENCY ?? 50);

console.log(`\nload: ${REQUESTS} signed Slack requests, ${CONCURRENCY} concurrent, against the local bot (SQLite, in-process worker)\n`);
const r = await runLoad({ requests: REQUESTS, concurrency: CONCURRENCY, onProgress: (line) => console.log(line) });

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
const all = Object.values(r.latency).flat();
const row = (name: string, xs: number[]) =>
  console.log(`${name.padEnd(44)} n ${String(xs.length).padStart(5)}   p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms   p99 ${pct(xs, 99).toFixed(1).padStart(7)} ms   max ${Math.max(...xs).toFixed(1).padStart(7)} ms`);
console.log('');
row('all requests', all);
const names: Record<RequestKind, string> = {
  'slash-open': '/force-down <host> → ack (card by the worker)',
  click: 'Confirm fenced… → views.open → ack',
  submit: 'modal submitted → ack (Nova call by the worker)',
  status: '/force-down status <host> → ack',
  help: '/force-down help, garbage → ephemeral help',
};
for (const [kind, xs] of Object.entries(r.latency) as [RequestKind, number[]][]) row(names[kind], xs);
row('modal submitted → PUT reached Nova', r.novaDelay);
console.log(`\nthroughput ${(r.requests / (r.wallMs / 1000)).toFixed(0)} requests/s (${r.requests} in ${(r.wallMs / 1000).toFixed(2)} s)`);
console.log(`errors ${r.errors.length}${r.errors.length ? `: ${JSON.stringify(r.errors.slice(0, 3))}` : ''}; error log lines ${r.errorLogs.length}`);
console.log(`flows ${r.flows} measured (${r.succeeded} succeeded in the store, warm-up included); Nova PUTs ${r.novaPuts}`);
const first = r.memory[0]!;
const last = r.memory.at(-1)!;
console.log(`\nbot memory after a full GC (rss / heapUsed):`);
for (const m of r.memory) console.log(`  after ${String(m.after).padStart(5)} requests${m === last ? ', queue idle' : m === first ? ' (warm-up done)' : ''}: ${mb(m.rss).padStart(9)} / ${mb(m.heapUsed).padStart(8)}`);
console.log(`  growth (warm-up done → queue idle): rss ${mb(last.rss - first.rss)}, heap ${mb(last.heapUsed - first.heapUsed)}`);
if (r.errors.length > 0) process.exitCode = 1;
