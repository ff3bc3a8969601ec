// Bundles the Lambda entry points (functions/*.ts) and the breakglass CLI.
// Run by `npm run build`, and by npm's `prepare` so `npx force-down` works after `npm ci`.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

const banner = {
  // ESM bundles of CommonJS dependencies need a real `require` (DESIGN.md: known pitfalls).
  js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
};
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  minify: true,
  legalComments: 'none',
  banner,
  logLevel: 'warning',
};

// Modules Bolt requires at load that the Lambda path never runs (see the file):
// its Express/HTTP/Socket Mode receivers, its OAuth installer (we authorize with
// one bot token), and multipart uploads (form-data, which carries mime-db);
// and zod's locales index (every language but English, which zod loads on its own).
const notBundled = new URL('src/runtime/not-bundled.cjs', import.meta.url).pathname;
const lambdaZodLocales = new URL('src/runtime/zod-locales-lean.mjs', import.meta.url).pathname;
const lambdaOnly = {
  name: 'not-bundled',
  setup(b) {
    b.onResolve({ filter: /^(express|raw-body|@slack\/socket-mode|@slack\/oauth|form-data)$/ }, () => ({ path: notBundled }));
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) => (/[\\/]node_modules[\\/]zod[\\/]/.test(a.importer) ? { path: lambdaZodLocales } : undefined));
  },
};

// The CLI's `undici`: only Agent and request, from undici's own modules (see the file),
const undiciLean = new URL('src/cli/undici-lean.cjs', import.meta.url).pathname;
// zod without its locales index (every language but English, which zod loads on its own),
const zodLocalesLean = new URL('src/cli/zod-locales-lean.mjs', import.meta.url).pathname;
const lazyHttp2 = new URL('src/cli/node-http2-lazy.cjs', import.meta.url).pathname;
const lazyAssert = new URL('src/cli/node-assert-lazy.cjs', import.meta.url).pathname;
const cliLean = {
  name: 'cli-lean',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: undiciLean }));
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) => (/[\\/]node_modules[\\/]zod[\\/]/.test(a.importer) ? { path: zodLocalesLean } : undefined));
    // undici's node:http2 and node:assert, loaded only if used (see src/cli/node-lazy.cjs).
    const fromUndici = (a) => /[\\/]node_modules[\\/]undici[\\/]/.test(a.importer);
    b.onResolve({ filter: /^(node:)?http2$/ }, (a) => (fromUndici(a) ? { path: lazyHttp2 } : undefined));
    b.onResolve({ filter: /^(node:)?assert$/ }, (a) => (fromUndici(a) ? { path: lazyAssert } : undefined));
  },
};

/** How the Lambda functions are bundled (also used by `npm run bench` for its cold-init probes). */
export const lambdaOptions = {
  ...common,
  outExtension: { '.js': '.mjs' },
  // Chunks: what only the worker needs (undici, via a dynamic import) stays out of the api's cold start.
  splitting: true,
  // Prefer each package's ES module build: the AWS SDK's dist-es tree-shakes to the commands
  // we send and keeps its lazily used credential providers in their own chunks.
  mainFields: ['module', 'main'],
  chunkNames: 'chunks/[name]-[hash]',
  plugins: [lambdaOnly],
};

/**
 * How the breakglass CLI is bundled (also used by the bundle test to check what it loads), in two parts.
 * The argument stage (src/cli/main.ts, front.ts, args.ts, compile-cache.ts) is dist/cli.mjs, one small
 * file: `--help`, `--version` and usage errors load nothing more. The commands (src/cli/run.ts and what
 * it loads) are one CommonJS file, dist/cli-chunks/<build>/run.cjs, which dist/cli.mjs compiles with a
 * V8 code cache (src/cli/compile-cache.ts) once a command needs it: `commands` is its path, relative
 * to dist/. What a command reads only sometimes (the YAML parser, the Redfish client, the bot's
 * settings) is in that file but runs only when read (esbuild turns those dynamic imports into lazily
 * run module bodies).
 */
export const cliFrontOptions = (commands) => ({
  ...common,
  entryPoints: [`${root}src/cli/main.ts`],
  outfile: `${root}dist/cli.mjs`,
  define: { __VERSION__: JSON.stringify(version), __COMMANDS__: JSON.stringify(commands) },
  // Nothing in the argument stage needs `require`.
  banner: { js: '#!/usr/bin/env node' },
  // Never the commands themselves: they are loaded from their own file.
  plugins: [{ name: 'cli-run', setup: (b) => b.onResolve({ filter: /^\.\/run\.js$/ }, () => ({ path: './run.js', external: true })) }],
});
export const cliRunOptions = {
  ...common,
  format: 'cjs',
  // A CommonJS file has its own `require`.
  banner: {},
  entryPoints: { run: `${root}src/cli/run.ts` },
  outdir: `${root}dist/cli-chunks`,
  outExtension: { '.js': '.cjs' },
  plugins: [cliLean],
};

/**
 * Builds the CLI so that a CLI process started at any moment loads one build's files, never a mix
 * (tests and operators run dist/cli.mjs while another build may be under way): each build's chunks
 * go to a folder of their own, dist/cli-chunks/<build>/ (run.cjs and its source map), written before dist/cli.mjs, which is
 * replaced last, by a rename. Other builds' folders go once they are 10 minutes old (a CLI process
 * reads its commands in its first second).
 */
async function buildCli() {
  const id = `${Date.now().toString(36)}-${process.pid}`;
  const chunks = `${root}dist/cli-chunks`;
  const commands = await build({ ...cliRunOptions, outdir: `${chunks}/${id}`, write: false, metafile: true });
  const [runOut] = Object.entries(commands.metafile.outputs).find(([, o]) => o.entryPoint?.endsWith('src/cli/run.ts'));
  const front = await build({ ...cliFrontOptions(`./cli-chunks/${id}/${runOut.replace(/^.*\//, '')}`), write: false });
  for (const f of commands.outputFiles) {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, f.contents);
  }
  for (const f of front.outputFiles) {
    writeFileSync(`${f.path}.${id}.tmp`, f.contents);
    renameSync(`${f.path}.${id}.tmp`, f.path);
  }
  for (const d of readdirSync(chunks)) {
    if (d !== id && statSync(`${chunks}/${d}`).mtimeMs < Date.now() - 10 * 60_000) rmSync(`${chunks}/${d}`, { recursive: true, force: true });
  }
}

// Build only when run (`node esbuild.config.mjs`), not when imported for the options.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Chunk names carry content hashes: clear the previous build so a package holds only this one's.
  rmSync(`${root}dist/functions`, { recursive: true, force: true });

  await Promise.all([
    build({
      ...lambdaOptions,
      entryPoints: readdirSync(`${root}functions`).filter((f) => f.endsWith('.ts')).map((f) => `${root}functions/${f}`),
      outdir: `${root}dist/functions`,
    }),
    buildCli(),
  ]);
}
