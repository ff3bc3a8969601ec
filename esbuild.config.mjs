// Bundles the Lambda entry points (functions/*.ts) and the breakglass CLI.
// Run by `npm run build`, and by npm's `prepare` so `npx force-down` works after `npm ci`.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
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
// and zod without its locales index (every language but English, which zod loads on its own).
const zodLocalesLean = new URL('src/cli/zod-locales-lean.mjs', import.meta.url).pathname;
const cliLean = {
  name: 'cli-lean',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: undiciLean }));
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) => (/[\\/]node_modules[\\/]zod[\\/]/.test(a.importer) ? { path: zodLocalesLean } : undefined));
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
 * How the breakglass CLI is bundled (also used by the bundle test to check what it loads).
 * dist/cli.mjs holds only the argument stage (src/cli/main.ts, front.ts): `--help` loads nothing
 * more. What a command needs comes in chunks (dist/cli-chunks/) that it imports when it runs.
 */
export const cliOptions = {
  ...common,
  entryPoints: { cli: `${root}src/cli/main.ts` },
  outdir: `${root}dist`,
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'cli-chunks/[name]-[hash]',
  define: { __VERSION__: JSON.stringify(version) },
  banner: { js: `#!/usr/bin/env node\n${banner.js}` },
  plugins: [cliLean],
};

// Build only when run (`node esbuild.config.mjs`), not when imported for the options.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Chunk names carry content hashes: clear the previous build so a package holds only this one's.
  rmSync(`${root}dist/functions`, { recursive: true, force: true });
  rmSync(`${root}dist/cli-chunks`, { recursive: true, force: true });

  await Promise.all([
    build({
      ...lambdaOptions,
      entryPoints: readdirSync(`${root}functions`).filter((f) => f.endsWith('.ts')).map((f) => `${root}functions/${f}`),
      outdir: `${root}dist/functions`,
    }),
    build(cliOptions),
  ]);
}
