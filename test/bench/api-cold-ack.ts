// `npm run bench`: the api function's cold first ack (issue 16), against what a Bolt user ships.
//
// What a Slack user waits for on a cold Lambda is init plus the first request. Each round
// starts fresh `node` processes, interleaved, and times each from spawn to the handler's answer:
//  - ours: the api bundle (functions/api.ts, bundled as `npm run build` does) answering a signed `/force-down compute1` for real: the secret
//    read from a Secrets Manager stand-in, the request recorded in dynalite, the worker invoked
//    at a Lambda Invoke stand-in (all through the real AWS SDK clients, AWS_ENDPOINT_URL_*);
//  - baseline: a bare Bolt app (App + AwsLambdaReceiver, one app.command('/force-down', ack);
//    test/bench/cold/bolt-app.ts) bundled with the api's esbuild options, stubs included;
//  - the same bare app bundled plainly (no stubs), what a Bolt user ships on day one;
//  - two floors: the bare app doing ours' AWS calls (secret, one DynamoDB write, the invoke) before
//    its ack, and those calls alone without Bolt: what the goal leaves for our code.
// Then each dependency imported alone in a fresh process, bundled the same way, so each
// one's share of ours is printed, and the bundle sizes of api, worker and the CLI.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { build, type BuildOptions } from 'esbuild';
import { tableDefinition } from '../../src/store/dynamodb.js';
import { CHANNEL, slashCommand, user } from '../integration/slack-helpers.js';
import { createActiveTable } from '../fakes/dynamo-table.js';
import { startFakeLambdaInvoke } from '../fakes/lambda-invoke.js';
import { startFakeSecretsManager } from '../fakes/secrets-manager.js';
import { startFakeSlackApi } from '../fakes/slack-api.js';
import { signSlackRequest } from '../fakes/slack-signature.js';
import { bundleFiles, bytes, median } from './measure.js';

const ROUNDS = Number(process.env.BENCH_COLD_ROUNDS ?? 9);
const GOAL = 1.3;
const root = join(import.meta.dirname, '..', '..');
const SIGNING = 'bench-cold-signing-secret';
const BOT_TOKEN = 'xoxb-bench-cold';
const SECRET_ID = 'force-down-bench';
const AWS_CREDENTIALS = { accessKeyId: 'AKIDBENCHCOLD', secretAccessKey: 'bench-cold-secret' };


// The bundles: ours as `npm run build` makes them, the baseline and the probes with the same options.
execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: 'inherit' });
const { lambdaOptions } = (await import(join(root, 'esbuild.config.mjs'))) as { lambdaOptions: BuildOptions };
const dir = mkdtempSync(join(tmpdir(), 'force-down-cold-ack-'));
const quiet = { logLevel: 'error' as const };
// Ours exactly as `npm run build` bundles functions/*.ts, into the bench's own folder: other builds of dist/ may run meanwhile.
const functionsDir = join(dir, 'functions');
const { metafile: apiMeta } = await build({
  ...lambdaOptions,
  ...quiet,
  metafile: true,
  entryPoints: readdirSync(join(root, 'functions')).filter((f) => f.endsWith('.ts')).map((f) => join(root, 'functions', f)),
  outdir: functionsDir,
});
await build({ ...lambdaOptions, ...quiet, entryPoints: [join(root, 'test/bench/cold/bolt-app.ts')], outdir: join(dir, 'stubbed') });
await build({ ...lambdaOptions, ...quiet, plugins: [], entryPoints: [join(root, 'test/bench/cold/bolt-app.ts')], outdir: join(dir, 'plain') });
// What recording and handing over the request before the ack costs by itself: the bare app plus the
// secret read and ours' AWS calls, nothing else (bolt-aws-app.ts), and the same calls without Bolt (aws-only-app.ts).
await build({ ...lambdaOptions, ...quiet, entryPoints: [join(root, 'test/bench/cold/bolt-aws-app.ts'), join(root, 'test/bench/cold/aws-only-app.ts')], outdir: join(dir, 'floor') });
// A lever to weigh (BENCH_COLD_VARIANT=<module>): the module's default export turns the api's esbuild
// options into the variant's (another entry, another plugin, …); the variant runs in every round beside ours.
const variantModule = process.env.BENCH_COLD_VARIANT;
let variant: string | undefined;
if (variantModule) {
  const makeOptions = ((await import(join(process.cwd(), variantModule))) as { default: (o: BuildOptions) => BuildOptions }).default;
  await build({ ...makeOptions({ ...lambdaOptions, entryPoints: { api: join(root, 'functions/api.ts') } }), ...quiet, outdir: join(dir, 'variant') });
  variant = join(dir, 'variant/api.mjs');
}
const probes = {
  bolt: '@slack/bolt (App + AwsLambdaReceiver)',
  'secrets-manager': '@aws-sdk/client-secrets-manager',
  dynamodb: '@aws-sdk/client-dynamodb + lib-dynamodb',
  lambda: '@aws-sdk/client-lambda',
  zod: 'zod',
  'powertools-logger': '@aws-lambda-powertools/logger',
  'powertools-metrics': '@aws-lambda-powertools/metrics',
  'powertools-parameters': '@aws-lambda-powertools/parameters (getSecret)',
} as const;
type Probe = keyof typeof probes;
const probeNames = Object.keys(probes) as Probe[];
await build({ ...lambdaOptions, ...quiet, entryPoints: probeNames.map((p) => join(root, 'test/bench/cold', `${p}.ts`)), outdir: join(dir, 'deps') });
// The same dependencies added one at a time (Bolt, then + Secrets Manager, …): the AWS SDK clients
// share most of their code (smithy), so what each adds to the ones before is its share of ours.
mkdirSync(join(dir, 'sum-src'));
probeNames.forEach((_, i) => {
  const parts = probeNames.slice(0, i + 1);
  const lines = parts.map((p, j) => `import * as m${j} from ${JSON.stringify(join(root, 'test/bench/cold', `${p}.ts`))};`);
  writeFileSync(join(dir, 'sum-src', `${i}.ts`), `${lines.join('\n')}\nexport default [${parts.map((_, j) => `m${j}`).join(', ')}];\n`);
});
await build({ ...lambdaOptions, ...quiet, entryPoints: probeNames.map((_, i) => join(dir, 'sum-src', `${i}.ts`)), outdir: join(dir, 'sum') });

// The stand-ins ours talks to, and the loopback Slack the baseline's auth.test goes to.
const sm = await startFakeSecretsManager({
  [SECRET_ID]: JSON.stringify({
    slack: { signingSecret: SIGNING, botToken: BOT_TOKEN },
    clouds: { lab: { auth: { auth_url: 'http://127.0.0.1:9/v3', application_credential_id: 'bench', application_credential_secret: 'bench-secret' } } },
  }),
});
const invoke = await startFakeLambdaInvoke();
const slack = await startFakeSlackApi();
const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
await new Promise<void>((ok) => dynamo.listen(0, '127.0.0.1', () => ok()));
const dynamoUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
const admin = new DynamoDBClient({ endpoint: dynamoUrl, region: 'us-east-1', credentials: AWS_CREDENTIALS });

const baseEnv = { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: AWS_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: AWS_CREDENTIALS.secretAccessKey };
const oursEnv = (table: string) => ({
  ...baseEnv,
  AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
  AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
  AWS_ENDPOINT_URL_LAMBDA: invoke.endpoint,
  FORCE_DOWN_SECRET_ID: SECRET_ID,
  FORCE_DOWN_TABLE: table,
  FORCE_DOWN_WORKER_FUNCTION: 'force-down-worker',
  FORCE_DOWN_APPROVERS: 'U0APPROVE1',
  FORCE_DOWN_CHANNEL: CHANNEL.id,
  SLACK_API_URL: slack.apiUrl,
});
const boltEnv = { ...baseEnv, SLACK_SIGNING_SECRET: SIGNING, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_API_URL: slack.apiUrl };

/** A signed `/force-down compute1` as API Gateway (HTTP API, payload v2) hands it to the function. */
function slashEvent() {
  const body = new URLSearchParams(slashCommand({ text: 'compute1', user: user('U0BENCH001'), responseUrl: slack.responseUrl('bench') })).toString();
  const ts = Math.floor(Date.now() / 1000);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/slack/events',
    rawQueryString: '',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': signSlackRequest(SIGNING, body, ts),
    },
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
    requestContext: { requestId: `bench-${ts}-${Math.random().toString(36).slice(2)}`, http: { method: 'POST', path: '/slack/events' } },
  };
}

// One cold start: import the handler, call it once, say when each is done (stdout markers; the
// parent takes the time when it reads them), then exit without waiting for idle sockets.
const HANDLER_SCRIPT = `
  const { handler } = await import(process.env.BENCH_FILE);
  process.stdout.write('\\n@@INIT@@\\n');
  const res = await handler(JSON.parse(process.env.BENCH_EVENT), { awsRequestId: 'bench-cold' });
  process.stdout.write('\\n@@ACK@@' + JSON.stringify({ status: res?.statusCode, body: res?.body ?? '' }) + '\\n');
  process.exit(0);`;
const IMPORT_SCRIPT = `await import(process.env.BENCH_FILE); process.stdout.write('\\n@@INIT@@\\n'); process.exit(0);`;

interface Run {
  init: number;
  ack: number;
  status?: number;
  body?: string;
}

/** Spawns one process and times, from the spawn, its `@@INIT@@` and `@@ACK@@` markers. */
function run(script: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], { cwd: root, env });
    let out = '';
    let err = '';
    let init = NaN;
    let ack = NaN;
    child.stdout.on('data', (c: Buffer) => {
      const now = performance.now();
      out += c.toString();
      if (Number.isNaN(init) && out.includes('@@INIT@@')) init = now - t0;
      if (Number.isNaN(ack) && out.includes('@@ACK@@')) ack = now - t0;
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || Number.isNaN(init)) return reject(new Error(`bench: exited ${code}:\n${err}\n${out}`));
      const marker = out.indexOf('@@ACK@@');
      if (marker < 0) return resolve({ init, ack: init });
      const answer = JSON.parse(out.slice(marker + 7).split('\n')[0]!) as { status: number; body: string };
      resolve({ init, ack, ...answer });
    });
  });
}

const series = { awsInit: [] as number[], aws: [] as number[], floorInit: [] as number[], floor: [] as number[], variantInit: [] as number[], variant: [] as number[], empty: [] as number[], oursInit: [] as number[], ours: [] as number[], boltInit: [] as number[], bolt: [] as number[], plainInit: [] as number[], plain: [] as number[] };
const alone = Object.fromEntries(probeNames.map((p) => [p, [] as number[]])) as Record<Probe, number[]>;
const added = probeNames.map(() => [] as number[]);
const firstRequest = { ours: [] as number[], bolt: [] as number[] };
const api = join(functionsDir, 'api.mjs');

try {
  // One round to warm the disk cache and the stand-ins, not counted.
  for (let i = -1; i < ROUNDS; i++) {
    const table = `force-down-bench-${i + 1}`;
    await createActiveTable(admin, tableDefinition(table)); // a fresh table: every round records a new request
    const fetches = sm.fetches();
    const invoked = invoke.invocations.length;
    const ours = await run(HANDLER_SCRIPT, { ...oursEnv(table), BENCH_FILE: api, BENCH_EVENT: JSON.stringify(slashEvent()) });
    if (ours.status !== 200 || sm.fetches() !== fetches + 1 || invoke.invocations.length !== invoked + 1) {
      throw new Error(`bench: ours did not record and hand over the request: ${JSON.stringify(ours)}, ${sm.fetches() - fetches} secret reads, ${invoke.invocations.length - invoked} invokes`);
    }
    let other: Run | undefined;
    if (variant) {
      const vtable = `force-down-bench-v${i + 1}`;
      await createActiveTable(admin, tableDefinition(vtable));
      other = await run(HANDLER_SCRIPT, { ...oursEnv(vtable), BENCH_FILE: variant, BENCH_EVENT: JSON.stringify(slashEvent()) });
      if (other.status !== 200) throw new Error(`bench: the variant did not ack: ${JSON.stringify(other)}`);
    }
    const ftable = `force-down-bench-f${i + 1}`;
    await createActiveTable(admin, tableDefinition(ftable));
    const floorFetches = sm.fetches();
    const floorInvoked = invoke.invocations.length;
    const floor = await run(HANDLER_SCRIPT, { ...oursEnv(ftable), BENCH_FILE: join(dir, 'floor/bolt-aws-app.mjs'), BENCH_EVENT: JSON.stringify(slashEvent()) });
    if (floor.status !== 200 || sm.fetches() !== floorFetches + 1 || invoke.invocations.length !== floorInvoked + 1) {
      throw new Error(`bench: the floor app did not record and hand over the request: ${JSON.stringify(floor)}`);
    }
    const atable = `force-down-bench-a${i + 1}`;
    await createActiveTable(admin, tableDefinition(atable));
    const [awsFetches, awsInvoked] = [sm.fetches(), invoke.invocations.length];
    const awsOnly = await run(HANDLER_SCRIPT, { ...oursEnv(atable), BENCH_FILE: join(dir, 'floor/aws-only-app.mjs'), BENCH_EVENT: JSON.stringify(slashEvent()) });
    if (awsOnly.status !== 200 || sm.fetches() !== awsFetches + 1 || invoke.invocations.length !== awsInvoked + 1) {
      throw new Error(`bench: the AWS-only app did not record and hand over the request: ${JSON.stringify(awsOnly)}`);
    }
    const bolt = await run(HANDLER_SCRIPT, { ...boltEnv, BENCH_FILE: join(dir, 'stubbed/bolt-app.mjs'), BENCH_EVENT: JSON.stringify(slashEvent()) });
    const plain = await run(HANDLER_SCRIPT, { ...boltEnv, BENCH_FILE: join(dir, 'plain/bolt-app.mjs'), BENCH_EVENT: JSON.stringify(slashEvent()) });
    for (const b of [bolt, plain]) if (b.status !== 200) throw new Error(`bench: the bare Bolt app did not ack: ${JSON.stringify(b)}`);
    const empty = await run(`process.stdout.write('\\n@@INIT@@\\n');`, baseEnv);
    const deps: Run[] = [];
    for (const p of probeNames) deps.push(await run(IMPORT_SCRIPT, { ...baseEnv, BENCH_FILE: join(dir, 'deps', `${p}.mjs`) }));
    const sums: Run[] = [];
    for (let j = 0; j < probeNames.length; j++) sums.push(await run(IMPORT_SCRIPT, { ...baseEnv, BENCH_FILE: join(dir, 'sum', `${j}.mjs`) }));
    if (i < 0) continue;
    // Paired within the round (what j adds to the set before it, each over this round's empty node),
    // so a noisy moment that slows one round cancels out of the difference.
    sums.forEach((r, j) => added[j]!.push(r.init - (j === 0 ? empty.init : sums[j - 1]!.init)));
    firstRequest.ours.push(ours.ack - ours.init);
    firstRequest.bolt.push(bolt.ack - bolt.init);
    if (other) series.variant.push(other.ack), series.variantInit.push(other.init);
    series.aws.push(awsOnly.ack);
    series.awsInit.push(awsOnly.init);
    series.floor.push(floor.ack);
    series.floorInit.push(floor.init);
    series.ours.push(ours.ack);
    series.oursInit.push(ours.init);
    series.bolt.push(bolt.ack);
    series.boltInit.push(bolt.init);
    series.plain.push(plain.ack);
    series.plainInit.push(plain.init);
    series.empty.push(empty.init);
    probeNames.forEach((p, j) => alone[p].push(deps[j]!.init - empty.init));
  }
} finally {
  admin.destroy();
  await Promise.all([sm.close(), invoke.close(), slack.close(), new Promise<void>((ok) => dynamo.close(() => ok()))]);
}

const m = Object.fromEntries(Object.entries(series).map(([k, xs]) => [k, median(xs)])) as Record<keyof typeof series, number>;
const ms = (x: number) => `${x.toFixed(0).padStart(5)} ms`;
console.log(`\napi cold first ack: spawn → import → signed /force-down compute1 → ack (${ROUNDS} interleaved rounds, medians)\n`);
console.log(`${''.padEnd(58)}   init     ack`);
console.log(`${'empty node'.padEnd(58)}${ms(m.empty)}`);
console.log(`${'bare Bolt app, bundled plainly (no stubs)'.padEnd(58)}${ms(m.plainInit)}${ms(m.plain)}   ${(m.plain / m.bolt).toFixed(2)}× baseline`);
console.log(`${'bare Bolt app, api esbuild options (baseline)'.padEnd(58)}${ms(m.boltInit)}${ms(m.bolt)}   1.00×`);
const floorRatio = m.floor / m.bolt;
console.log(`${'bare Bolt app + secret, DynamoDB, invoke (bolt-aws-app.ts)'.padEnd(58)}${ms(m.floorInit)}${ms(m.floor)}   ${floorRatio.toFixed(2)}×`);
console.log(`${'secret, DynamoDB, invoke alone, no Bolt (aws-only-app.ts)'.padEnd(58)}${ms(m.awsInit)}${ms(m.aws)}   ${(m.aws / m.bolt).toFixed(2)}×`);
const ratio = m.ours / m.bolt;
console.log(`${'ours: the api bundle (secret, DynamoDB, invoke)'.padEnd(58)}${ms(m.oursInit)}${ms(m.ours)}   ${ratio.toFixed(2)}×`);
if (variant) console.log(`${`variant: ${variantModule}`.padEnd(58)}${ms(m.variantInit)}${ms(m.variant)}   ${(m.variant / m.bolt).toFixed(2)}×  (${(m.variant - m.ours).toFixed(0)} ms against ours)`);
console.log(`\nours / baseline: ${ratio.toFixed(2)}×  (goal ≤ ${GOAL}×) ${ratio <= GOAL ? 'met' : 'NOT met'}`);
// What recording and handing over the request before the ack costs by itself, with and without Bolt:
// the room the goal leaves for everything else.
console.log(
  `bare Bolt app + the AWS calls / baseline: ${floorRatio.toFixed(2)}×${
    floorRatio >= GOAL + 0.005 ? `: above ${GOAL}× with no code of ours: with Bolt on the ack path, no api that records and hands over the request before it acks meets the goal` : `: leaves ${(GOAL * m.bolt - m.floor).toFixed(0)} ms for our code with Bolt on the ack path`
  }`,
);
console.log(`the AWS calls alone / baseline: ${(m.aws / m.bolt).toFixed(2)}×: the goal leaves ${(GOAL * m.bolt - m.aws).toFixed(0)} ms for Slack's envelope, settings, checks and logs`);
console.log(`ours / bare Bolt app + the AWS calls: ${(m.ours / m.floor).toFixed(2)}×  (what our code adds)`);
console.log(`ours / bare Bolt bundled plainly: ${(m.ours / m.plain).toFixed(2)}×  (goal ≤ 1.00×) ${m.ours <= m.plain ? 'met' : 'NOT met'}`);

// Shares: each dependency imported alone, and what it adds to the ones before it (its share of ours);
// ours is the rest of our init, then the first request.
console.log(`\neach dependency, bundled the same way: imported alone, and added to the ones above it (a fresh process each)\n`);
console.log(`  ${''.padEnd(52)}   alone     adds   (each over an empty node in the same round; medians)`);
const used = new Set<Probe>(['bolt', 'secrets-manager', 'dynamodb', 'lambda', 'zod']);
// Powertools counts in ours when the api bundle has it (esbuild's list of the api's inputs).
const inputs = Object.keys(apiMeta.inputs).join('\n');
for (const p of ['logger', 'metrics', 'parameters'] as const) if (inputs.includes(`@aws-lambda-powertools/${p}/`)) used.add(`powertools-${p}`);
let depsShare = 0;
probeNames.forEach((p, j) => {
  const adds = median(added[j]!);
  if (used.has(p)) depsShare += adds;
  console.log(`  ${probes[p].padEnd(52)}${ms(median(alone[p]))}  ${ms(adds)} ${used.has(p) ? '' : '(not in the api)'}`);
});
console.log(`  ${'ours: the rest of the api init'.padEnd(52)}${''.padStart(7)}  ${ms(m.oursInit - m.empty - depsShare)}`);
console.log(`  ${'ours: the first request (secret, DynamoDB, invoke, ack)'.padEnd(52)}${''.padStart(7)}  ${ms(median(firstRequest.ours))}`);
console.log(`  ${'baseline: its first request (auth.test, ack)'.padEnd(52)}${''.padStart(7)}  ${ms(median(firstRequest.bolt))}`);

// Bundle sizes: what each function loads at a cold start (entry + static chunks), and the CLI.
const size = (f: string) => statSync(f).size;
const chunkDir = join(functionsDir, 'chunks');
const all = readdirSync(chunkDir).filter((f) => f.endsWith('.mjs'));
const allChunks = all.reduce((n, f) => n + size(join(chunkDir, f)), 0);
console.log('\nbundle sizes (minified, without source maps)\n');
for (const fn of ['api', 'worker']) {
  const entry = join(functionsDir, `${fn}.mjs`);
  const loaded = bytes(bundleFiles(entry).start);
  console.log(`  ${`${fn}: loaded at a cold start (entry + static chunks)`.padEnd(52)}${(loaded / 1024).toFixed(0).padStart(6)} KiB`);
}
console.log(`  ${'functions: every chunk (lazy ones included)'.padEnd(52)}${((allChunks + size(api) + size(join(functionsDir, 'worker.mjs'))) / 1024).toFixed(0).padStart(6)} KiB`);
// The CLI: its entry, and with the commands it reads once a command runs.
const cliEntry = join(root, 'dist/cli.mjs');
if (existsSync(cliEntry)) {
  const cliAll = bytes(bundleFiles(cliEntry).all);
  console.log(`  ${'CLI: dist/cli.mjs alone'.padEnd(52)}${(size(cliEntry) / 1024).toFixed(0).padStart(6)} KiB`);
  console.log(`  ${'CLI: with the commands (run.cjs)'.padEnd(52)}${(cliAll / 1024).toFixed(0).padStart(6)} KiB`);
}
rmSync(dir, { recursive: true, force: true });
