// What the breakglass CLI bundle (esbuild.config.mjs cliOptions) loads, and
// that what it leaves out or stubs is never reached: the esbuild metafile of
// the real build options says which modules each output file holds and which
// it imports at start (static imports) or only when a command needs them
// (dynamic imports). The CLI integration tests (cli*.test.ts) run the same
// bundle against the lab, so the paths below are also exercised for real.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const rel = (p: string) => relative(root, join(root, p)).replaceAll('\\', '/');

let meta: Metafile;
let frontMeta: Metafile;
/** Output file → the source modules (inputs) it holds. */
const holds = (out: string) => Object.keys(meta.outputs[out]!.inputs).map(rel);
/** The output files loaded with `out`: it and what it imports statically, transitively. */
function atStart(out: string): string[] {
  const seen = new Set<string>();
  const visit = (o: string) => {
    if (seen.has(o)) return;
    seen.add(o);
    for (const i of meta.outputs[o]!.imports) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(out);
  return [...seen];
}
/** The output file that holds source module `input`. */
const outputHolding = (input: string) => Object.keys(meta.outputs).find((o) => !o.endsWith('.map') && holds(o).includes(input))!;
const modulesAtStart = (out: string) => atStart(out).flatMap(holds);

beforeAll(async () => {
  const config = (await import(join(root, 'esbuild.config.mjs'))) as {
    cliRunOptions: Parameters<typeof build>[0];
    cliFrontOptions: (run: string) => Parameters<typeof build>[0];
  };
  const quiet = { write: false, metafile: true, sourcemap: false, logLevel: 'silent' } as const;
  meta = (await build({ ...config.cliRunOptions, ...quiet })).metafile;
  frontMeta = (await build({ ...config.cliFrontOptions('./cli-chunks/run.mjs'), ...quiet })).metafile;
});

describe('the CLI bundle', () => {
  it('dist/cli.mjs is the argument stage alone: --help, --version and usage errors load no dependency, config, OpenStack or Slack code', () => {
    const [out] = Object.entries(frontMeta.outputs).filter(([o]) => !o.endsWith('.map'));
    const loaded = Object.keys(out![1].inputs).map(rel);
    expect(loaded).toContain('src/cli/front.ts');
    expect(loaded).toContain('src/cli/args.ts');
    expect(loaded.filter((m) => !/^src\/(cli\/(main|front|args)\.ts|domain\/)/.test(m))).toEqual([]);
    // One file: it imports only node's own modules at start, and the commands (run.ts's chunk) when one runs.
    expect(out![1].imports.filter((i) => i.kind === 'import-statement' && !i.path.startsWith('node:'))).toEqual([]);
    expect(out![1].imports.filter((i) => i.kind === 'dynamic-import' && !i.path.startsWith('node:'))).toEqual([{ path: './cli-chunks/run.mjs', kind: 'dynamic-import', external: true }]);
  });

  it('a command loads the YAML parser only when it reads a clouds.yaml, the Redfish client only with BMCs, the bot settings only for --power-off and evacuate', () => {
    const run = modulesAtStart(outputHolding('src/cli/run.ts'));
    for (const lazy of ['src/config/clouds-yaml.ts', 'src/bmc/redfish.ts', 'src/config/env.ts']) expect(run).not.toContain(lazy);
    expect(run.filter((m) => m.includes('node_modules/yaml/'))).toEqual([]);
    expect(modulesAtStart(outputHolding('src/config/clouds-yaml.ts')).some((m) => m.includes('node_modules/yaml/'))).toBe(true);
    // The OS_* variables (an openrc) need no YAML parser.
    expect(modulesAtStart(outputHolding('src/config/openstack-env.ts')).filter((m) => m.includes('node_modules/yaml/') || m === 'src/config/clouds-yaml.ts')).toEqual([]);
    // No Slack SDK anywhere in the CLI: its audit line is one plain fetch.
    const all = Object.keys(meta.outputs).flatMap(holds);
    expect(all.filter((m) => /node_modules\/@slack\//.test(m))).toEqual([]);
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
