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

await Promise.all([
  build({ ...common, entryPoints: functions, outdir: 'dist/functions', outExtension: { '.js': '.mjs' } }),
  build({
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/cli.mjs',
    define: { __VERSION__: JSON.stringify(version) },
    banner: { js: `#!/usr/bin/env node\n${banner.js}` },
  }),
]);
