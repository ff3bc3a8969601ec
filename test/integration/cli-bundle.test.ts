// What the breakglass CLI bundle (esbuild.config.mjs cliFrontOptions, cliRunOptions)
// holds, and that what it leaves out or stubs is never reached: the esbuild
// metafile of the real build options says which modules each output file
// holds; V8's coverage of the built CLI, run as a process, says which of them
// a command ran (the commands are one file whose rarely needed parts run only
// when read). The CLI integration tests (cli*.test.ts) run the same bundle
// against the lab, so the paths below are also exercised for real.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire, SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMONJS_WRAPPER } from '../../src/cli/compile-cache.js';
import { buildCli } from './cli-run.js';

const root = join(import.meta.dirname, '..', '..');
const rel = (p: string) => relative(root, join(root, p)).replaceAll('\\', '/');

let meta: Metafile;
let frontMeta: Metafile;
let frontText: string;
/** Output file → the source modules (inputs) it holds. */
const holds = (out: string) => Object.keys(meta.outputs[out]!.inputs).map(rel);
/**
 * Runs the built CLI (dist/cli.mjs) with V8's coverage on and answers which source modules of its
 * commands' file ran at least one function: each function V8 counted, mapped back through the
 * file's source map.
 */
function modulesRun(args: string[], env: Record<string, string>): { code: number | null; ran: Set<string> } {
  const coverage = mkdtempSync(join(tmpdir(), 'fd-cov-'));
  const r = spawnSync(process.execPath, [join(root, 'dist/cli.mjs'), ...args], {
    cwd: mkdtempSync(join(tmpdir(), 'fd-cli-')),
    env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'fd-home-')), NODE_V8_COVERAGE: coverage, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const ran = new Set<string>();
  const scripts = readdirSync(coverage).flatMap((f) => (JSON.parse(readFileSync(join(coverage, f), 'utf8')) as { result: { url: string; functions: { ranges: { startOffset: number; count: number }[] }[] }[] }).result);
  const commands = scripts.filter((s) => s.url.endsWith('/run.cjs'));
  expect(commands, `the commands' file ran: ${r.stderr}`).toHaveLength(1);
  const file = fileURLToPath(commands[0]!.url);
  const source = readFileSync(file, 'utf8');
  const map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
  const lineStarts = [0];
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  for (const fn of commands[0]!.functions) {
    const { startOffset, count } = fn.ranges[0]!;
    const at = startOffset - COMMONJS_WRAPPER[0].length; // V8 counts from the wrapper's start
    if (count === 0 || at < 0 || at >= source.length) continue;
    let line = lineStarts.length - 1;
    while (lineStarts[line]! > at) line--;
    const entry = map.findEntry(line, at - lineStarts[line]!) as { originalSource?: string };
    if (entry.originalSource) ran.add(rel(relative(root, resolve(dirname(file), entry.originalSource.replace(/^file:\/\//, '')))));
  }
  return { code: r.status, ran };
}
const ranAny = (ran: Set<string>, prefix: string) => [...ran].some((m) => m.startsWith(prefix));

beforeAll(async () => {
  const config = (await import(join(root, 'esbuild.config.mjs'))) as {
    cliRunOptions: Parameters<typeof build>[0];
    cliFrontOptions: (run: string) => Parameters<typeof build>[0];
  };
  const quiet = { write: false, metafile: true, sourcemap: false, logLevel: 'silent' } as const;
  meta = (await build({ ...config.cliRunOptions, ...quiet })).metafile;
  const front = await build({ ...config.cliFrontOptions('./cli-chunks/run.cjs'), ...quiet });
  frontMeta = front.metafile;
  frontText = front.outputFiles.map((f) => f.text).join('\n');
  buildCli(); // dist/, for the runs below
});

describe('the CLI bundle', () => {
  it('dist/cli.mjs is the argument stage alone: --help, --version and usage errors load no dependency, config, OpenStack or Slack code', () => {
    const [out] = Object.entries(frontMeta.outputs).filter(([o]) => !o.endsWith('.map'));
    const loaded = Object.keys(out![1].inputs).map(rel);
    expect(loaded).toContain('src/cli/front.ts');
    expect(loaded).toContain('src/cli/args.ts');
    expect(loaded.filter((m) => !/^src\/(cli\/(main|front|args|compile-cache)\.ts|domain\/)/.test(m))).toEqual([]);
    // One file: at start it imports only node's own modules, and none of those the compile cache uses
    // (they load with a command); the commands are read from their own file, never bundled in.
    const imports = out![1].imports;
    expect(imports.filter((i) => !i.path.startsWith('node:'))).toEqual([]);
    const atStart = imports.filter((i) => i.kind === 'import-statement').map((i) => i.path);
    for (const late of ['node:crypto', 'node:fs', 'node:vm', 'node:v8', 'node:module']) expect(atStart).not.toContain(late);
    expect(frontText).toContain('./cli-chunks/run.cjs');
  });

  it('the commands are one CommonJS file with no Slack SDK: its audit line is one plain fetch', () => {
    const outs = Object.keys(meta.outputs).filter((o) => !o.endsWith('.map'));
    expect(outs.map((o) => o.replace(/^.*\//, ''))).toEqual(['run.cjs']);
    expect(meta.outputs[outs[0]!]!.imports.filter((i) => i.kind === 'dynamic-import')).toEqual([]); // what it loads later is in it
    const all = Object.keys(meta.outputs).flatMap(holds);
    expect(all.filter((m) => /node_modules\/@slack\//.test(m))).toEqual([]);
  });

  it('a command runs the YAML parser only when it reads a clouds.yaml, the Redfish client only with BMCs, the bot settings only for --power-off', () => {
    // Keystone unreachable: every command stops at its first request, after all the configuration is read.
    const auth = { auth_url: 'http://127.0.0.1:9/v3', username: 'a', password: 'b', project_name: 'c', user_domain_name: 'Default', project_domain_name: 'Default' };
    const openrc = Object.fromEntries(Object.entries(auth).map(([k, v]) => [`OS_${k.toUpperCase()}`, v]));
    const viaOpenrc = modulesRun(['--unset', 'compute9', '--json'], openrc);
    expect(viaOpenrc.code).toBe(4); // KEYSTONE_UNAVAILABLE
    expect(ranAny(viaOpenrc.ran, 'src/openstack/keystone.ts')).toBe(true); // the map finds what did run
    expect(ranAny(viaOpenrc.ran, 'src/config/openstack-env.ts')).toBe(true);
    for (const lazy of ['node_modules/yaml/', 'src/config/clouds-yaml.ts', 'src/bmc/redfish.ts', 'src/config/env.ts']) expect(ranAny(viaOpenrc.ran, lazy), lazy).toBe(false);

    const yaml = join(mkdtempSync(join(tmpdir(), 'fd-clouds-')), 'clouds.yaml');
    writeFileSync(yaml, `clouds:\n  lab:\n    auth:\n${Object.entries(auth).map(([k, v]) => `      ${k}: ${v}`).join('\n')}\n`);
    const viaYaml = modulesRun(['--unset', 'compute9', '--json'], { OS_CLIENT_CONFIG_FILE: yaml, OS_CLOUD: 'lab' });
    expect(viaYaml.code).toBe(4);
    expect(ranAny(viaYaml.ran, 'node_modules/yaml/')).toBe(true);
    expect(ranAny(viaYaml.ran, 'src/config/clouds-yaml.ts')).toBe(true);
    for (const lazy of ['src/bmc/redfish.ts', 'src/config/env.ts']) expect(ranAny(viaYaml.ran, lazy), lazy).toBe(false);

    // --power-off reads the bot's power-off timeout (env.ts); without a BMC section, no Redfish client.
    const powerOff = modulesRun(['compute9', '--power-off', '--json'], openrc);
    expect(powerOff.code).not.toBe(0);
    expect(ranAny(powerOff.ran, 'src/config/env.ts')).toBe(true);
    expect(ranAny(powerOff.ran, 'src/bmc/redfish.ts')).toBe(false);
  });

  it("undici's index is replaced by src/cli/undici-lean.cjs, and the CLI's code uses nothing from undici the lean module lacks", () => {
    const all = Object.keys(meta.outputs).flatMap(holds);
    expect(all).toContain('src/cli/undici-lean.cjs');
    expect(all).not.toContain('node_modules/undici/index.js');
    expect(all.filter((m) => m.includes('node_modules/undici/lib/web/websocket/') || m.includes('node_modules/undici/lib/mock/'))).toEqual([]);
    // Every import of undici in the bundled sources names only what the lean module exports.
    const lean = createRequire(import.meta.url)(join(root, 'src/cli/undici-lean.cjs')) as Record<string, unknown>;
    const undici = createRequire(import.meta.url)('undici') as Record<string, unknown>;
    const sources = all.filter((m) => m.startsWith('src/') && m.endsWith('.ts'));
    const named = sources.flatMap((file) =>
      [...readFileSync(join(root, file), 'utf8').matchAll(/import\s*(type\s*)?\{([^}]*)\}\s*from\s*'undici'/g)]
        .filter((m) => !m[1])
        .flatMap((m) => m[2]!.split(',').map((n) => n.trim()).filter((n) => n && !n.startsWith('type '))),
    );
    expect(named.length).toBeGreaterThan(0);
    for (const name of new Set(named)) {
      expect(lean[name], `undici's ${name}`).toBeDefined();
      // The very same object as undici's own: nothing reimplemented.
      if (name !== 'request') expect(lean[name]).toBe(undici[name]);
    }
    for (const file of sources) expect(readFileSync(join(root, file), 'utf8'), file).not.toMatch(/from 'undici\/|require\('undici/);
  });

  it("undici's node:http2 and node:assert load only when used: HTTP/2's constants as node has them, a failed check thrown by node's assert", async () => {
    const undiciInputs = Object.entries(meta.inputs).filter(([p]) => rel(p).startsWith('node_modules/undici/'));
    const builtins = new Set(undiciInputs.flatMap(([, i]) => i.imports.filter((x) => x.external).map((x) => x.path.replace(/^node:/, ''))));
    expect(builtins.has('net')).toBe(true); // what undici does use stays node's own
    expect(builtins.has('http2')).toBe(false);
    expect(builtins.has('assert')).toBe(false);
    const require = createRequire(import.meta.url);
    const lazy = require(join(root, 'src/cli/node-lazy.cjs')) as { http2: { constants: Record<string, unknown> }; assert: (v: unknown, m?: string) => void };
    const http2 = require('node:http2') as { constants: Record<string, unknown> };
    for (const [name, value] of Object.entries(lazy.http2.constants)) expect(value, name).toBe(http2.constants[name]);
    // Every constant undici's HTTP/2 client reads is there.
    const h2 = readFileSync(join(root, 'node_modules/undici/lib/dispatcher/client-h2.js'), 'utf8');
    const read = /const \{\s*constants: \{([^}]*)\}\s*\} = http2/.exec(h2)![1]!.split(',').map((n) => n.trim()).filter(Boolean);
    expect(read.length).toBeGreaterThan(0);
    for (const name of read) expect(lazy.http2.constants[name], name).toBeDefined();
    expect(() => lazy.assert(1)).not.toThrow();
    expect(() => lazy.assert(0, 'broken invariant')).toThrow(expect.objectContaining({ code: 'ERR_ASSERTION', message: 'broken invariant' }));
  });

  it("zod's locales index is stubbed: English (zod's own) stays, and no bundled source reads z.locales", () => {
    const all = Object.keys(meta.outputs).flatMap(holds);
    expect(all).toContain('src/cli/zod-locales-lean.mjs');
    expect(all.filter((m) => /node_modules\/zod\/.*locales\//.test(m))).toEqual(['node_modules/zod/v4/locales/en.js']);
    for (const file of all.filter((m) => m.startsWith('src/') && m.endsWith('.ts'))) {
      expect(readFileSync(join(root, file), 'utf8'), file).not.toMatch(/\blocales\b/);
    }
  });
});
