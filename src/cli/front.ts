// The CLI's first stage, light on purpose: parse the command line and answer
// --help, --version and usage errors. Nothing here loads the configuration,
// OpenStack, BMC or Slack code: main.ts imports run.ts (and with it those)
// only for a command that needs them, so `force-down --help` is about as
// quick as an empty node process.
import { parseCli, USAGE, UsageError, wantsJson, type CliCommand } from './args.js';

export const EXIT = { done: 0, usage: 2, refused: 3, unreachable: 4 } as const;

/** What the first stage needs of the CLI's I/O. */
export interface FrontIo {
  out: (text: string) => void;
  err: (text: string) => void;
  version?: string;
}

/** A command that goes on to run.ts (not help or version). */
export type RunCommand = Exclude<CliCommand, { kind: 'help' } | { kind: 'version' }>;

/** Parses `argv`: the command to run, or the exit code once help, the version or a usage error has been printed. */
export function front(argv: string[], io: FrontIo): { cmd: RunCommand } | { exit: number } {
  let cmd: CliCommand;
  try {
    cmd = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      // --json is read from argv itself, so that a command line that does not parse still gets JSON.
      if (wantsJson(argv)) io.out(JSON.stringify({ ok: false, code: 'USAGE', message: err.message }));
      else io.err(`force-down: ${err.message}\n\nRun "force-down --help" for usage.`);
      return { exit: EXIT.usage };
    }
    throw err;
  }
  if (cmd.kind === 'help') {
    io.out(USAGE);
    return { exit: EXIT.done };
  }
  if (cmd.kind === 'version') {
    io.out(io.version ?? 'unknown');
    return { exit: EXIT.done };
  }
  return { cmd };
}
