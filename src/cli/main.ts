// The breakglass CLI's entry point: `npx force-down …` (bundled to dist/cli.mjs).
// Only the argument stage (front.ts) loads with it: --help, --version and usage
// errors are answered without loading anything else; run.ts (configuration,
// OpenStack, BMC, Slack audit) is loaded once a command needs it: bundled, from
// dist/cli-chunks/<build>/run.cjs with a V8 code cache (compile-cache.ts).
import { loadWithCompileCache } from './compile-cache.js';
import { front, type FrontIo } from './front.js';

declare const __VERSION__: string | undefined;
/** The commands' file, relative to dist/cli.mjs (esbuild.config.mjs defines it; unset when run from source). */
declare const __COMMANDS__: string | undefined;
type Commands = typeof import('./run.js');

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
  // A CLI process lives a fraction of a second: undici's HTTP parser (WebAssembly) is compiled by
  // V8's baseline compiler only. Its optimizing tier would compile it again on background threads,
  // for responses already parsed, and the process would wait for that work before it could exit
  // (~15-20 ms here). Set before the commands are compiled: V8's code cache is checked against its flags.
  (await import('node:v8')).setFlagsFromString('--liftoff-only');
  const commands =
    typeof __COMMANDS__ === 'string'
      ? await loadWithCompileCache<Commands>(new URL(__COMMANDS__, import.meta.url), process.env)
      : { exports: await import('./run.js'), save: () => undefined };
  process.exitCode = await commands.exports.runCommand(
    parsed.cmd,
    {
      ...io,
      env: process.env,
      // Nobody to ask when stdin is not a terminal: evacuate then needs --yes.
      ...(process.stdin.isTTY ? { confirm } : {}),
    },
    started,
  );
  commands.save();
  // Done: leave now rather than wait for V8's background work (nothing of ours is left to run:
  // the cloud's connections are closed, the audit line posted or given up), once what was written
  // to stdout and stderr is out (pipes may be asynchronous: on macOS).
  const code = process.exitCode;
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
  process.exit(code);
}
