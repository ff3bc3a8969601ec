// The breakglass CLI's entry point: `npx force-down …` (bundled to dist/cli.mjs).
import { createInterface } from 'node:readline/promises';
import { runCli } from './run.js';

declare const __VERSION__: string | undefined;

/** Asks on the terminal (stderr, so that stdout stays the answer); only yes goes on. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // Ctrl-D closes the interface without an answer: no.
  const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
  try {
    return (await Promise.race([rl.question(`${question} `), closed])).trim().toLowerCase() === 'yes';
  } catch {
    return false; // stdin closed (Ctrl-D)
  } finally {
    rl.close();
  }
}

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  version: typeof __VERSION__ === 'string' ? __VERSION__ : undefined,
  // Nobody to ask when stdin is not a terminal: evacuate then needs --yes.
  ...(process.stdin.isTTY ? { confirm } : {}),
});
process.exitCode = code;
