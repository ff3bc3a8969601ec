// The CLI's commands loaded with a V8 code cache (src/cli/compile-cache.ts): the
// first run writes it, later runs compile from it, and a cache that is not
// this user's alone, not this code's, or broken is never used to run code.
// Each load runs in a fresh process, as each CLI run does: within one process
// V8 reuses what it compiled already, whatever the cache file holds.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileCacheDir } from '../../../src/cli/compile-cache.js';

let dir: string;
let file: string;
let env: Record<string, string>;
const cacheDir = () => join(dir, 'cache', 'force-down');
const cacheFiles = () => (existsSync(cacheDir()) ? readdirSync(cacheDir()).filter((f) => f.endsWith('.v8')) : []);

/** A CommonJS file like esbuild's output of the commands: exports, a require of node's own module, a function called later. */
function writeCommands(answer: string) {
  writeFileSync(
    file,
    `"use strict";
     const { join } = require('node:path');
     exports.where = __filename;
     exports.answer = function answer(x) { return join('a', 'b') + ':' + ${JSON.stringify(answer)} + ':' + x; };`,
  );
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'compile-cache-'));
  file = join(dir, 'run.cjs');
  env = { XDG_CACHE_HOME: join(dir, 'cache') };
  writeCommands('one');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const root = join(import.meta.dirname, '..', '..', '..');
const loader = pathToFileURL(join(root, 'src/cli/compile-cache.ts')).href;

/** A fresh process loads the commands (and saves the cache unless told not to): how it compiled them, and their answer. */
function load(x: number, opts: { env?: Record<string, string>; save?: boolean } = {}): { from: string; answer: string; where: string } {
  // The same script every time (x and whether to save come from the environment): the options Node
  // runs with are part of the cache's key, and an -e script is one of them.
  const script = `
    const { loadWithCompileCache } = await import(${JSON.stringify(loader)});
    const m = await loadWithCompileCache(new URL(${JSON.stringify(pathToFileURL(file).href)}), process.env);
    const out = { from: m.from, answer: m.exports.answer(Number(process.env.X)), where: m.exports.where };
    if (process.env.SAVE === '1') m.save();
    process.stdout.write(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...(opts.env ?? env), X: String(x), SAVE: opts.save === false ? '0' : '1' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`load: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { from: string; answer: string; where: string };
}
const ab = join('a', 'b');

describe('the CLI compile cache', () => {
  it('the first run compiles and saves; later runs compile from the cache, give the same answers and write nothing', () => {
    const first = load(1, { save: false });
    expect(first).toEqual({ from: 'source', answer: `${ab}:one:1`, where: file });
    expect(cacheFiles()).toEqual([]); // nothing before the command ran
    expect(load(1).from).toBe('source');
    expect(cacheFiles()).toHaveLength(1);
    expect(statSync(cacheDir()).mode & 0o777).toBe(0o700);
    const [name] = cacheFiles();
    expect(statSync(join(cacheDir(), name!)).mode & 0o777).toBe(0o600);
    const written = statSync(join(cacheDir(), name!)).mtimeMs;
    expect(load(2)).toEqual({ from: 'cache', answer: `${ab}:one:2`, where: file });
    expect(cacheFiles()).toEqual([name]);
    expect(statSync(join(cacheDir(), name!)).mtimeMs).toBe(written);
  });

  it("another content of the commands (another build) never runs from this one's cache", () => {
    load(1);
    writeCommands('two'); // same length, other code: V8 alone would not tell them apart
    expect(load(3)).toMatchObject({ from: 'source', answer: `${ab}:two:3` });
    expect(cacheFiles()).toHaveLength(2);
    expect(load(3)).toMatchObject({ from: 'cache', answer: `${ab}:two:3` });
  });

  it("runs under other Node options keep a cache of their own instead of rewriting each other's", () => {
    load(1);
    const other = { ...env, NODE_OPTIONS: '--max-old-space-size=512' };
    expect(load(2, { env: other }).from).toBe('source');
    expect(load(2, { env: other }).from).toBe('cache');
    expect(load(2).from).toBe('cache');
    expect(cacheFiles()).toHaveLength(2);
  });

  it('a broken cache file is rejected: the code is compiled from its source, runs the same, and the file is rewritten', () => {
    load(1);
    const [name] = cacheFiles();
    writeFileSync(join(cacheDir(), name!), Buffer.from('not V8 code cache at all'));
    expect(load(4)).toMatchObject({ from: 'source', answer: `${ab}:one:4` });
    expect(readFileSync(join(cacheDir(), name!)).length).toBeGreaterThan(100);
    expect(load(4).from).toBe('cache');
  });

  it('a cache folder others may write is neither read nor written', () => {
    load(1);
    chmodSync(cacheDir(), 0o777);
    expect(load(5)).toMatchObject({ from: 'source', answer: `${ab}:one:5` });
    writeCommands('six');
    expect(load(5).answer).toBe(`${ab}:six:5`);
    expect(cacheFiles()).toHaveLength(1); // the one written while the folder was private
  });

  it('NODE_DISABLE_COMPILE_CACHE=1 turns it off: nothing read, nothing written', () => {
    const off = { ...env, NODE_DISABLE_COMPILE_CACHE: '1' };
    expect(load(1, { env: off })).toMatchObject({ from: 'source', answer: `${ab}:one:1` });
    expect(existsSync(cacheDir())).toBe(false);
    expect(compileCacheDir(off, () => dir, join)).toBeUndefined();
  });

  it('a cache that cannot be written (a file where the folder should be) costs nothing but the time', () => {
    mkdirSync(join(dir, 'cache'));
    writeFileSync(cacheDir(), 'a file, not a folder');
    expect(load(6)).toMatchObject({ from: 'source', answer: `${ab}:one:6` });
  });

  it('the folder: XDG_CACHE_HOME, else ~/.cache; force-down under it', () => {
    expect(compileCacheDir({ XDG_CACHE_HOME: '/x' }, () => '/home/op', join)).toBe(join('/x', 'force-down'));
    expect(compileCacheDir({ HOME: '/home/op' }, () => '/elsewhere', join)).toBe(join('/home/op', '.cache', 'force-down'));
    expect(compileCacheDir({}, () => '/home/op', join)).toBe(join('/home/op', '.cache', 'force-down'));
    expect(
      compileCacheDir(
        {},
        () => {
          throw new Error('no home');
        },
        join,
      ),
    ).toBeUndefined();
  });

  it('other cache files written over 30 days ago go when a new one is written; recent ones stay', () => {
    mkdirSync(cacheDir(), { recursive: true, mode: 0o700 });
    const old = join(cacheDir(), 'old.v8');
    const recent = join(cacheDir(), 'recent.v8');
    writeFileSync(old, 'x');
    writeFileSync(recent, 'y');
    const longAgo = new Date(Date.now() - 31 * 24 * 3600_000);
    utimesSync(old, longAgo, longAgo);
    load(1);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(cacheFiles()).toHaveLength(2);
  });
});
