// `npm run bench` (cli-cold): the breakglass CLI as a whole process against its floor.
//
// Floor = (a) an empty `node -e ''` process + (b) the core's cold path in-process
// (a new OpenStack client: Keystone auth, Nova's version document, the service
// lookup, the PUT), both measured in the same run as (c) the CLI process doing one
// force-down and (d) `force-down --help`, in interleaved rounds; medians (the
// machines are noisy). Goals: (c) ≤ 1.5× the floor, (d) ≤ 1.2× (a).
// Also printed: the size of what each bundle loads at start (its entry and the
// chunks it imports statically) and of all its chunks (with those it may import
// later), for the CLI, api and worker.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { createCloudClient } from '../../src/openstack/cloud.js';
import setupLab from '../integration/global-setup.js';
import { createNovaProbe, loadLab } from '../integration/lab.js';
import { bundleFiles, bytes, median, time } from './measure.js';

const ROUNDS = Number(process.env.BENCH_CLI_COLD_ROUNDS ?? 15);
const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist/cli.mjs');
// Another build of the CLI (e.g. an older commit's dist/cli.mjs) to weigh in the same rounds, for before/after figures.
const other = process.env.BENCH_CLI_COMPARE;

const kb = (files: string[]) => `${(bytes(files) / 1024).toFixed(0)} KB`;

const teardown = await setupLab();
try {
  execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: 'inherit' });
  const lab = loadLab();
  const probe = createNovaProbe(lab);
  // The bench's own host (test/bench/run.ts uses it too; `npm run bench` runs one file at a time).
  const host = lab.hosts.compute[4]!;
  await probe.reset(host);

  // The CLI's credentials come from clouds.yaml (so the YAML parser is part of the figure).
  // (c): --fenced pdu --ignore-heartbeat, and --unset: the same talk with Nova as (b) (Keystone auth,
  // version, lookup, PUT), no heartbeat read. (c2): as test/bench/run.ts runs it, --fenced bmc (clouds.yaml
  // has no BMC section, so no BMC is read) with a heartbeat wait of 0: one more read of Nova (each
  // round's unset moves the service's updated_at; 0 keeps the watch's read, not a 20 s wait).
  // The CLI's compile cache (src/cli/compile-cache.ts) in a folder of the bench's own: written by the
  // uncounted first round, as by an operator's first run on a machine; (c0) runs with it off.
  const cacheHome = mkdtempSync(join(tmpdir(), 'cli-cold-cache-'));
  const env = { ...process.env, OS_CLIENT_CONFIG_FILE: lab.cloudsYaml, OS_CLOUD: 'lab-admin', FORCE_DOWN_HEARTBEAT_WAIT_SECONDS: '0', XDG_CACHE_HOME: cacheHome };
  const noCacheEnv = { ...env, NODE_DISABLE_COMPILE_CACHE: '1' };
  const run = (args: string[], runEnv: NodeJS.ProcessEnv = env) => {
    const r = spawnSync(process.execPath, args, { env: runEnv, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  if (!run([cli, '--help']).includes('force-down')) throw new Error('force-down --help printed no usage');

  // (b0): the core's cold path as the first call in a fresh process: the CLI's own bundling of the
  // OpenStack client, loaded before the clock starts, so the figure is (b) plus what a new process
  // pays to compile the code on its first run; the rest of (c) is the CLI's own loading and work.
  const probeDir = mkdtempSync(join(tmpdir(), 'cli-cold-'));
  const probeFile = join(probeDir, 'probe.cjs'); // CommonJS, as the CLI's commands are bundled
  const { cliRunOptions } = (await import(join(root, 'esbuild.config.mjs'))) as { cliRunOptions: BuildOptions };
  await build({
    ...cliRunOptions,
    entryPoints: undefined,
    entryNames: undefined,
    splitting: false,
    outdir: undefined,
    outfile: probeFile,
    sourcemap: false,
    stdin: {
      resolveDir: root,
      loader: 'ts',
      contents: `import { createCloudClient } from './src/openstack/cloud.ts';
        const [host, down] = process.argv.slice(2);
        const c = createCloudClient('lab', JSON.parse(process.env.PROBE_CLOUD));
        void (async () => {
          const t0 = performance.now();
          const res = await c.nova.setForcedDown(host, down === 'true');
          const ms = performance.now() - t0;
          await c.close();
          if (!res.ok) throw new Error(JSON.stringify(res.failure));
          process.stdout.write(String(ms));
        })();`,
    },
  });
  const probeEnv = { ...env, PROBE_CLOUD: JSON.stringify(lab.clouds.admin) };
  const firstCall = (down: boolean) => {
    const r = spawnSync(process.execPath, [probeFile, host, String(down)], { env: probeEnv, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`probe: exit ${r.status}: ${r.stderr}`);
    return Number(r.stdout);
  };

  const s = { node: [] as number[], core: [] as number[], first: [] as number[], cli: [] as number[], cliNoCache: [] as number[], cli2: [] as number[], help: [] as number[], otherCli: [] as number[], otherHelp: [] as number[] };
  for (let i = -1; i < ROUNDS; i++) {
    const down = i % 2 === 0;
    // Round -1 warms the file system cache and the lab; it is not counted.
    const keep = (xs: number[], ms: number) => i >= 0 && xs.push(ms);
    keep(s.node, await time(() => run(['-e', ''])));
    const c = createCloudClient('lab', lab.clouds.admin);
    keep(
      s.core,
      await time(async () => {
        const res = await c.nova.setForcedDown(host, down);
        if (!res.ok) throw new Error(`core force-down: ${JSON.stringify(res.failure)}`);
      }),
    );
    await c.close(); // closing the client is not part of the force-down
    if (i >= 0) s.first.push(firstCall(down));
    keep(s.cli, await time(() => run([cli, ...(down ? [host, '--fenced', 'pdu', '--ignore-heartbeat'] : ['--unset', host]), '--json'])));
    keep(s.cli2, await time(() => run([cli, ...(down ? ['--unset', host] : [host, '--fenced', 'bmc'])])));
    // The same two commands as (c), in the other order, with the compile cache off: a machine's first run.
    keep(s.cliNoCache, await time(() => run([cli, ...(down ? ['--unset', host] : [host, '--fenced', 'pdu', '--ignore-heartbeat']), '--json'], noCacheEnv)));
    keep(s.help, await time(() => run([cli, '--help'])));
    if (other) {
      keep(s.otherCli, await time(() => run([other, ...(down ? [host, '--fenced', 'pdu', '--ignore-heartbeat'] : ['--unset', host]), '--json'])));
      keep(s.otherHelp, await time(() => run([other, '--help'])));
    }
  }
  await probe.reset(host);
  rmSync(probeDir, { recursive: true, force: true });
  rmSync(cacheHome, { recursive: true, force: true });

  const node = median(s.node);
  const floor = node + median(s.core);
  const cliRatio = median(s.cli) / floor;
  const helpRatio = median(s.help) / node;
  console.log(`\nthe breakglass CLI as a whole process (${ROUNDS} interleaved rounds; medians)\n`);
  const rows: [string, number][] = [
    ["(a) empty node process (node -e '')", node],
    ['(b) core cold path in-process (new client: auth + version + lookup + PUT)', median(s.core)],
    ['    floor = (a) + (b)', floor],
    ['(b0) core cold path, first call in a fresh process (code loaded, not yet compiled)', median(s.first)],
    [`(c) force-down ${host} --fenced pdu --ignore-heartbeat / --unset ${host}, --json (process)`, median(s.cli)],
    ['(c0) the same, compile cache off (NODE_DISABLE_COMPILE_CACHE=1): a first run on a machine', median(s.cliNoCache)],
    [`(c2) force-down ${host} --fenced bmc (heartbeat wait 0: one more Nova read) / --unset`, median(s.cli2)],
    ['(d) force-down --help (process)', median(s.help)],
    ...(other
      ? ([
          [`(c) with ${other}`, median(s.otherCli)],
          [`(d) with ${other}`, median(s.otherHelp)],
        ] as [string, number][])
      : []),
  ];
  for (const [name, ms] of rows) console.log(`${name.padEnd(88)} ${ms.toFixed(1).padStart(8)} ms`);
  console.log(`\nCLI process (c) / floor:  ${cliRatio.toFixed(2)}×  (goal ≤ 1.5×) ${cliRatio <= 1.5 ? 'met' : 'NOT met'}`);
  console.log(`CLI process (c0) / floor: ${(median(s.cliNoCache) / floor).toFixed(2)}×  (its first run on a machine: no compile cache yet)`);
  console.log(`CLI process (c2) / floor: ${(median(s.cli2) / floor).toFixed(2)}×  (one Nova read more than the floor)`);
  console.log(`--help / empty node:      ${helpRatio.toFixed(2)}×  (goal ≤ 1.2×) ${helpRatio <= 1.2 ? 'met' : 'NOT met'}`);
  console.log(`(a) + (b0) / floor:       ${((node + median(s.first)) / floor).toFixed(2)}×  (a new process's first run of the same code)`);
  if (other) console.log(`${other}: (c) / floor ${(median(s.otherCli) / floor).toFixed(2)}×, (d) / empty node ${(median(s.otherHelp) / node).toFixed(2)}×`);

  console.log('\nbundle sizes (minified; at start = the entry and the chunks it imports statically):');
  for (const [name, entry] of [
    ['CLI (dist/cli.mjs)', cli],
    ['api (dist/functions/api.mjs)', join(root, 'dist/functions/api.mjs')],
    ['worker (dist/functions/worker.mjs)', join(root, 'dist/functions/worker.mjs')],
  ] as const) {
    const { start, all } = bundleFiles(entry);
    console.log(`  ${name.padEnd(36)} at start ${kb(start).padStart(8)} (${start.length} files), in all ${kb(all).padStart(8)} (${all.length} files)`);
  }
} finally {
  teardown?.();
}
