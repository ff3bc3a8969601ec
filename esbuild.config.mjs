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
// one bot token), and multipart uploads (form-data, which carries mime-db).
const notBundled = new URL('src/runtime/not-bundled.cjs', import.meta.url).pathname;
const lambdaOnly = {
  name: 'not-bundled',
  setup(b) {
    b.onResolve({ filter: /^(express|raw-body|@slack\/socket-mode|@slack\/oauth|form-data)$/ }, () => ({ path: notBundled }));
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
    build({
      ...common,
      entryPoints: [`${root}src/cli/main.ts`],
      outfile: `${root}dist/cli.mjs`,
      define: { __VERSION__: JSON.stringify(version) },
      banner: { js: `#!/usr/bin/env node\n${banner.js}` },
    }),
  ]);
}
