import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { EVENT_DEADLINE_MS } from '../integration/wait.js';

const root = join(import.meta.dirname, '..', '..');
const SCRIPT = join(root, 'test/reliability/local-bot-process.ts');

export interface ChildBot {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  /** The bot's log lines so far (JSON). */
  readonly lines: string[];
  /** Everything the process wrote to stderr so far (library warnings, crashes). */
  stderr(): string;
  entries(): (Record<string, unknown> & { level: string; message: string })[];
  /** Resolves with the first log entry (seen or coming) matching; rejects after `timeoutMs` (default 60 s: a deadline for a busy machine, not an expected duration). */
  waitForLog(predicate: (e: Record<string, unknown> & { message: string }) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** The child's memory after a full GC. */
  memory(): Promise<NodeJS.MemoryUsage>;
  /** Resolves when the child's in-process worker has run every queued job. */
  idle(): Promise<void>;
  /** kill -9, and wait for the process to be gone. */
  kill9(): Promise<void>;
  /** A clean shutdown (server, queue, store). */
  close(): Promise<void>;
}

/**
 * Starts the local bot (startLocalBot: SQLite, in-process worker) as a real
 * child process with `env` as its whole configuration, like `npm start`.
 */
export async function startChildBot(
  env: Record<string, string>,
  opts: {
    /** Until it is listening (default 60 s: tsx compiles the bot first). */ timeoutMs?: number;
    /** The process's open-file limit (soft and hard, as `ulimit -n`); default: this process's. */ openFiles?: number;
  } = {},
): Promise<ChildBot> {
  const node = [process.execPath, '--expose-gc', '--import', 'tsx', SCRIPT];
  // The shell lowers the limit and becomes node (exec: same pid, same IPC channel).
  const [command, ...args] = opts.openFiles === undefined ? node : ['/bin/sh', '-c', `ulimit -n ${Math.floor(opts.openFiles)} && exec "$0" "$@"`, ...node];
  const child: ChildProcess = spawn(command!, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<(line: string) => void>();
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  let url: string | undefined;
  let buffered = '';
  let onReady: ((u: string) => void) | undefined;

  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.trim()) continue;
      if (line.startsWith('{"ready":')) {
        url = (JSON.parse(line) as { ready: string }).ready;
        onReady?.(url);
        continue;
      }
      lines.push(line);
      for (const w of [...waiters]) w(line);
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => stderr.push(c));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child bot did not start: ${stderr.join('')}`)), opts.timeoutMs ?? EVENT_DEADLINE_MS);
    onReady = () => (clearTimeout(timer), resolve());
    void exit.then(() => (clearTimeout(timer), reject(new Error(`child bot exited before it was ready: ${stderr.join('')}`))));
  });

  const parse = (l: string) => {
    try {
      return JSON.parse(l) as Record<string, unknown> & { level: string; message: string };
    } catch {
      return { level: 'raw', message: l };
    }
  };
  function ask<T>(message: string, pick: (m: Record<string, unknown>) => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: unknown) => {
        const v = pick(m as Record<string, unknown>);
        if (v === undefined) return;
        child.off('message', onMessage);
        resolve(v);
      };
      child.on('message', onMessage);
      if (!child.send(message)) reject(new Error('child bot: IPC channel closed'));
    });
  }

  return {
    url: url!,
    pid: child.pid!,
    lines,
    stderr: () => stderr.join(''),
    entries: () => lines.map(parse),
    waitForLog(predicate, timeoutMs = EVENT_DEADLINE_MS) {
      const seen = lines.map(parse).find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = (line: string) => {
          const e = parse(line);
          if (!predicate(e)) return;
          clearTimeout(timer);
          waiters.delete(w);
          resolve(e);
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`child bot: no matching log line within ${timeoutMs} ms; lines: ${lines.slice(-10).join('\n')}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    memory: () => ask('memory', (m) => m.memory as NodeJS.MemoryUsage | undefined),
    idle: () => ask('idle', (m) => (m.idle === true ? true : undefined)).then(() => undefined),
    async kill9() {
      if (exited) return;
      child.kill('SIGKILL');
      await exit;
    },
    async close() {
      if (exited) return;
      child.send('close');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
