// The breakglass CLI as an operator runs it: the bundled dist/cli.mjs, built from the current
// source, run as its own process. Shared by the CLI's integration and reliability tests.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
/**
 * The CLI's compile cache (src/cli/compile-cache.ts), shared by this test file's runs as by an
 * operator's: the first run writes it, the others run from it (each run's HOME is its own).
 */
const cacheHome = mkdtempSync(join(tmpdir(), 'fd-cli-cache-'));

/** Builds the bundle users get from `npm ci` (prepare) / `npm run build`, from the current source. */
export function buildCli(): void {
  execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: 'inherit' });
}

export interface CliRun {
  code: number | null;
  /** stdout, trimmed. */
  out: string;
  /** stderr, trimmed. */
  err: string;
}

/**
 * Runs dist/cli.mjs with `args` and resolves when it exits (asynchronously, so that a fake Slack
 * or BMC in this process can answer it). Its environment is PATH, a fresh empty HOME, USER=cli-tester,
 * the file's shared compile cache (XDG_CACHE_HOME) and `env`, nothing else of this process's; it runs in `cwd` (default: a fresh empty directory, so
 * no stray ./clouds.yaml is read) and is killed after `timeoutMs` (default 60 s: a deadline, not an
 * expected duration).
 */
export function runCli(args: string[], env: Record<string, string>, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [join(root, 'dist/cli.mjs'), ...args], {
    cwd: opts.cwd ?? mkdtempSync(join(tmpdir(), 'fd-cli-')),
    env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'fd-home-')), USER: 'cli-tester', XDG_CACHE_HOME: cacheHome, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: opts.timeoutMs ?? 60_000,
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out: out.trim(), err: err.trim() }));
  });
}
