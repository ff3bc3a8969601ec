// `npm run bench`: force-down latency against the real Keystone + Nova lab.
//
// Every figure is a median over interleaved rounds (the machines are noisy),
// reported as a ratio to the baseline measured in the same run: one raw HTTP
// PUT /os-services/{uuid} with a token in hand over a keep-alive connection.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { createCloudClient } from '../../src/openstack/cloud.js';
import setupLab from '../integration/global-setup.js';
import { createNovaProbe, loadLab } from '../integration/lab.js';
import { median, time } from './measure.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const CLI_ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 9);
const root = join(import.meta.dirname, '..', '..');

function assertOk(res: { ok: boolean; failure?: unknown }): void {
  if (!res.ok) throw new Error(`bench: force-down failed: ${JSON.stringify(res.failure)}`);
}

const teardown = await setupLab();
try {
  execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: 'inherit' });
  const lab = loadLab();
  const probe = createNovaProbe(lab);
  const host = lab.hosts.compute[4]!;
  await probe.reset(host);
  const { id } = await probe.service(host);
  const token = await probe.token();

  // Baseline: a raw PUT with a token in hand, keep-alive, same HTTP library.
  const raw = new Agent({ keepAliveTimeout: 30_000 });
  const rawPut = async (forcedDown: boolean) => {
    const res = await request(`${lab.nova}/os-services/${id}`, {
      method: 'PUT',
      dispatcher: raw,
      headers: { 'x-auth-token': token, 'openstack-api-version': 'compute 2.53', 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ forced_down: forcedDown }),
    });
    const body = await res.body.json();
    if (res.statusCode !== 200) throw new Error(`raw PUT: ${res.statusCode}`);
    return body;
  };

  // Warm: a client that has its token, the version document and the service UUID.
  const warm = createCloudClient('lab', lab.clouds.admin);
  assertOk(await warm.nova.setForcedDown(host, false));

  const samples = { raw: [] as number[], warm: [] as number[], cold: [] as number[] };
  await rawPut(false); // open the baseline's connection too
  for (let i = 0; i < ROUNDS; i++) {
    const down = i % 2 === 0;
    samples.raw.push(await time(() => rawPut(down)));
    samples.warm.push(await time(async () => assertOk(await warm.nova.setForcedDown(host, !down))));
    // Cold: a fresh client per call — new connections, Keystone auth, discovery, lookup, PUT.
    const c = createCloudClient('lab', lab.clouds.admin);
    samples.cold.push(await time(async () => assertOk(await c.nova.setForcedDown(host, down))));
    await c.close(); // tearing the client down is not part of the force-down's latency
  }
  await warm.close();
  await raw.close();
  await probe.reset(host);

  // Whole processes: our CLI bundle vs the openstack CLI, each a cold process doing one force-down.
  // Each round's unset (ours or openstack's) moves the service's updated_at, which the heartbeat watch
  // would then wait out (20 s): a wait of 0 keeps the watch's read of Nova in the figure, not the bench's own wait.
  const env = { ...process.env, OS_CLIENT_CONFIG_FILE: lab.cloudsYaml, OS_CLOUD: 'lab-admin', FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0' };
  const proc = { cli: [] as number[], openstack: [] as number[] };
  for (let i = 0; i < CLI_ROUNDS; i++) {
    const down = i % 2 === 0;
    proc.cli.push(
      await time(() => {
        const args = down ? [host, '--fenced', 'bmc'] : ['--unset', host];
        const r = spawnSync(process.execPath, [join(root, 'dist/cli.mjs'), ...args], { env, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`force-down CLI: ${r.stderr}`);
      }),
    );
    proc.openstack.push(
      await time(() => {
        const r = spawnSync('openstack', ['--os-compute-api-version', '2.11', 'compute', 'service', 'set', down ? '--down' : '--up', host, 'nova-compute'], {
          env,
          encoding: 'utf8',
        });
        if (r.status !== 0) throw new Error(`openstack CLI: ${r.stderr}`);
      }),
    );
  }
  await probe.reset(host);

  const base = median(samples.raw);
  const rows: [string, number[], string][] = [
    ['raw HTTP PUT, token in hand (baseline)', samples.raw, ''],
    ['core force-down, warm (cached token, version, UUID)', samples.warm, 'goal ≤ 1.15×'],
    ['core force-down, cold (new client: auth + discovery + lookup + PUT)', samples.cold, ''],
    ['force-down CLI process (node dist/cli.mjs)', proc.cli, ''],
    ['openstack compute service set --down (process)', proc.openstack, ''],
  ];
  console.log(`\nforce-down latency against the lab (${ROUNDS} rounds in-process, ${CLI_ROUNDS} per CLI; medians)\n`);
  for (const [name, xs, goal] of rows) {
    const m = median(xs);
    console.log(`${name.padEnd(70)} ${m.toFixed(2).padStart(9)} ms  ${(m / base).toFixed(2).padStart(7)}× raw  ${goal}`);
  }
  const warmRatio = median(samples.warm) / base;
  const coldVsOpenstack = median(proc.openstack) / median(samples.cold);
  const cliVsOpenstack = median(proc.openstack) / median(proc.cli);
  console.log(`\nwarm / raw PUT:                 ${warmRatio.toFixed(2)}×  (goal ≤ 1.15×) ${warmRatio <= 1.15 ? 'met' : 'NOT met'}`);
  console.log(`openstack CLI / core cold:      ${coldVsOpenstack.toFixed(1)}×  (goal ≥ 15×) ${coldVsOpenstack >= 15 ? 'met' : 'NOT met'}`);
  console.log(`openstack CLI / force-down CLI: ${cliVsOpenstack.toFixed(1)}×  (both whole processes)`);
} finally {
  teardown?.();
}
