// The breakglass CLI's entry point: `npx force-down …` (bundled to dist/cli.mjs).
import { runCli } from './run.js';

declare const __VERSION__: string | undefined;

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  version: typeof __VERSION__ === 'string' ? __VERSION__ : undefined,
});
process.exitCode = code;
