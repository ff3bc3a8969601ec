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
  const { cliOptions } = (await import(join(root, 'esbuild.config.mjs'))) as { cliOptions: Parameters<typeof build>[0] };
  const result = await build({ ...cliOptions, write: false, metafile: true, sourcemap: false, logLevel: 'silent' });
  meta = result.metafile;
});

describe('the CLI bundle', () => {
  it('dist/cli.mjs loads only the argument stage: --help, --version and usage errors load no dependency, config, OpenStack or Slack code', () => {
    const entry = Object.keys(meta.outputs).find((o) => meta.outputs[o]!.entryPoint === 'src/cli/main.ts')!;
    const loaded = modulesAtStart(entry);
    expect(loaded).toContain('src/cli/front.ts');
    expect(loaded).toContain('src/cli/args.ts');
    expect(loaded.filter((m) => !/^src\/(cli\/(main|front|args)\.ts|domain\/)/.test(m))).toEqual([]);
    // run.ts (and with it everything a command needs) is a dynamic import.
    expect(loaded).not.toContain('src/cli/run.ts');
  });

  it('a command loads the YAML parser only with clouds.yaml, the Redfish client only with BMCs, the bot settings only for --power-off and evacuate', () => {
    const run = modulesAtStart(outputHolding('src/cli/run.ts'));
    for (const lazy of ['src/config/clouds-yaml.ts', 'src/bmc/redfish.ts', 'src/config/env.ts']) expect(run).not.toContain(lazy);
    expect(run.filter((m) => m.includes('node_modules/yaml/'))).toEqual([]);
    expect(modulesAtStart(outputHolding('src/config/clouds-yaml.ts')).some((m) => m.includes('node_modules/yaml/'))).toBe(true);
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

  it("zod's locales index is stubbed: English (zod's own) stays, and no bundled source reads z.locales", () => {
    const all = Object.keys(meta.outputs).flatMap(holds);
    expect(all).toContain('src/cli/zod-locales-lean.mjs');
    expect(all.filter((m) => /node_modules\/zod\/.*locales\//.test(m))).toEqual(['node_modules/zod/v4/locales/en.js']);
    for (const file of all.filter((m) => m.startsWith('src/') && m.endsWith('.ts'))) {
      expect(readFileSync(join(root, file), 'utf8'), file).not.toMatch(/\blocales\b/);
    }
  });
});
