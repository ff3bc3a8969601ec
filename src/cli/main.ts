// The breakglass CLI's entry point: `npx force-down …` (bundled to dist/cli.mjs).
// Only the argument stage (front.ts) loads with it: --help, --version and usage
// errors are answered without loading anything else; run.ts (configuration,
// OpenStack, BMC, Slack audit) is imported once a command needs it.
import { front, type FrontIo } from './front.js';

declare const __VERSION__: string | undefined;

// The operator typing the command is the CLI's fence confirmation: taken before anything loads.
const started = Date.now();

/** Asks on the terminal (stderr, so that stdout stays the answer); only yes goes on. */
async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
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

const io: FrontIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  ...(typeof __VERSION__ === 'string' ? { version: __VERSION__ } : {}),
};
const parsed = front(process.argv.slice(2), io);
if ('exit' in parsed) {
  process.exitCode = parsed.exit;
} else {
  const { runCommand } = await import('./run.js');
  process.exitCode = await runCommand(
    parsed.cmd,
    {
      ...io,
      env: process.env,
      // Nobody to ask when stdin is not a terminal: evacuate then needs --yes.
      ...(process.stdin.isTTY ? { confirm } : {}),
    },
    started,
  );
}
