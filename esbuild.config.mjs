// Bundles the Lambda entry points (functions/*.ts) and the breakglass CLI.
// Run by `npm run build`, and by npm's `prepare` so `npx force-down` works after `npm ci`.
import { build } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

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

const functions = readdirSync('functions').filter((f) => f.endsWith('.ts')).map((f) => `functions/${f}`);

// Modules Bolt requires at load but only its Express/HTTP/Socket Mode receivers use (see the file).
const notBundled = new URL('src/runtime/not-bundled.cjs', import.meta.url).pathname;
const lambdaOnly = {
  name: 'not-bundled',
  setup(b) {
    b.onResolve({ filter: /^(express|raw-body|@slack\/socket-mode)$/ }, () => ({ path: notBundled }));
  },
};

await Promise.all([
  build({
    ...common,
    entryPoints: functions,
    outdir: 'dist/functions',
    outExtension: { '.js': '.mjs' },
    // Chunks: what only the worker needs (undici, via a dynamic import) stays out of the api's cold start.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    plugins: [lambdaOnly],
  }),
  build({
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.mjs',
    define: { __VERSION__: JSON.stringify(version) },
    banner: { js: `#!/usr/bin/env node\n${banner.js}` },
  }),
]);
