// The CLI's commands (dist/cli-chunks/<build>/run.cjs) loaded with a V8 code cache.
//
// Most of a breakglass run's own start is V8 compiling the commands' code (zod,
// undici, the YAML parser, ours) before the first request. Node 22.1+ can keep
// compiled code between runs (module.enableCompileCache); Node 20, which the
// CLI supports, cannot for ES modules. So the commands are one CommonJS file,
// compiled here with `vm.Script` and the code V8 produced the previous time
// (`cachedData`), and the cache is written after a run that had none, so it
// holds the functions the run compiled, not only the top level.
//
// Where: `$XDG_CACHE_HOME/force-down/` (default `~/.cache/force-down/`), a
// folder only its owner may write: cached code runs as the operator, so a
// folder another user could write (or one owned by someone else) is not used.
// One file per content of the commands' file, Node version and Node options (a
// SHA-256 of them): another build, or another Node, never reads this one's. V8
// itself rejects a cache made under other V8 flags; the file is then rewritten.
// `NODE_DISABLE_COMPILE_CACHE=1` (Node's own switch for its compile cache)
// turns it off. Every failure to read or write it only costs the time saved:
// the command runs the same.
//
// Node's modules are imported when a command is loaded, not with dist/cli.mjs:
// `--help` loads none of them (esbuild would hoist static imports to its top).

type Env = Record<string, string | undefined>;

export interface CachedModule<T> {
  exports: T;
  /** How the code was compiled: from the cache, or anew (no cache, rejected, or caching off). */
  from: 'cache' | 'source';
  /** Writes the cache when this run compiled anew (call it once the command ran: the cache then holds what it compiled). */
  save(): void;
}

/** What the file's code is wrapped in: Node's CommonJS wrapper (V8's coverage and stack positions count from its start). */
export const COMMONJS_WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n})'] as const;

/** Other cache files (other builds, other Node versions) written longer ago than this are removed when a new one is written. */
const STALE_MS = 30 * 24 * 3600_000;

/** The cache folder, or undefined when caching is off or no home is known. */
export function compileCacheDir(env: Env, homedir: () => string, join: (...parts: string[]) => string): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE && env.NODE_DISABLE_COMPILE_CACHE !== '0') return undefined;
  let home = env.HOME;
  try {
    home ||= homedir();
  } catch {
    // no home (a user without one): no cache unless XDG_CACHE_HOME says where
  }
  const base = env.XDG_CACHE_HOME || (home ? join(home, '.cache') : undefined);
  return base ? join(base, 'force-down') : undefined;
}

type Fs = typeof import('node:fs');

/** The folder exists (made 0700 if not), is a folder, is this user's, and nobody else may write it. */
function usableDir({ mkdirSync, statSync }: Fs, dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    if (!st.isDirectory()) return false;
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return false;
    return (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/**
 * Runs a CommonJS file's code (at `url`) like `require` would (module, exports, require
 * relative to the file), compiled with the cached code when there is a usable
 * one. The file must not `import()` anything (esbuild's CommonJS output of the
 * commands has no dynamic import left: what they load later is in the file).
 */
export async function loadWithCompileCache<T>(url: URL, env: Env): Promise<CachedModule<T>> {
  const [{ createHash }, fs, { createRequire }, { homedir }, { dirname, join }, { fileURLToPath }, { Script }] = await Promise.all([
    import('node:crypto'),
    import('node:fs'),
    import('node:module'),
    import('node:os'),
    import('node:path'),
    import('node:url'),
    import('node:vm'),
  ]);
  const file = fileURLToPath(url);
  const { chmodSync, readFileSync, renameSync, writeFileSync } = fs;
  const source = readFileSync(file, 'utf8');
  // The folder is checked once: a folder not fit to read from is not written to either.
  const dir = compileCacheDir(env, homedir, join);
  const usable = dir !== undefined && usableDir(fs, dir) ? dir : undefined;
  // Node's version, the machine, Node's options (V8 rejects code cached under other V8 flags: a file
  // per set of options, rather than one rewritten by turns), and the code itself.
  const key = [process.version, process.arch, process.execArgv.join(' '), env.NODE_OPTIONS ?? '', source];
  const cacheFile = usable ? join(usable, `${createHash('sha256').update(key.join('\0')).digest('hex').slice(0, 32)}.v8`) : undefined;
  let cached: Buffer | undefined;
  if (cacheFile) {
    try {
      cached = readFileSync(cacheFile);
    } catch {
      // none yet
    }
  }
  // The same wrapper as Node's CommonJS loader, so the code sees what `require` would give it.
  const script = new Script(COMMONJS_WRAPPER[0] + source + COMMONJS_WRAPPER[1], {
    filename: file,
    ...(cached ? { cachedData: cached } : {}),
  });
  const fromCache = cached !== undefined && !script.cachedDataRejected;
  const module = { exports: {} as T };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  let saved = false;
  return {
    exports: module.exports,
    from: fromCache ? 'cache' : 'source',
    save() {
      if (saved || fromCache || !cacheFile) return;
      saved = true;
      try {
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        chmodSync(tmp, 0o600);
        renameSync(tmp, cacheFile); // whole or not at all, whatever other runs do meanwhile
        prune(fs, join, usable!, cacheFile);
      } catch {
        // a read-only or full disk: the next run compiles again
      }
    },
  };
}

function prune({ readdirSync, rmSync, statSync }: Fs, join: (...parts: string[]) => string, dir: string, keep: string): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (path === keep || !/\.v8(\.\d+\.tmp)?$/.test(name)) continue;
    try {
      if (now - statSync(path).mtimeMs > STALE_MS) rmSync(path, { force: true });
    } catch {
      // gone already
    }
  }
}
