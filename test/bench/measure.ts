// What the benches share: the median of a series, the time of one call, and the files a bundle loads.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

/** The median (of an even count, the mean of the middle two). */
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** How long `fn` takes, in ms. */
export async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * The files a bundle loads: at start (its entry and its static imports, transitively) and in all
 * (with dynamic imports, and the CLI's commands, the .cjs file dist/cli.mjs names and reads once a
 * command runs).
 */
export function bundleFiles(entry: string): { start: string[]; all: string[] } {
  const walk = (dynamic: boolean): string[] => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
      if (dynamic) specs.push(...[...text.matchAll(/\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)].map((m) => m[1]!));
      if (dynamic) specs.push(...[...text.matchAll(/["'](\.{1,2}\/[^"']+\.cjs)["']/g)].map((m) => m[1]!));
      for (const spec of specs) {
        const next = resolve(dirname(file), spec);
        if (existsSync(next)) visit(next);
      }
    };
    visit(entry);
    return [...seen];
  };
  return { start: walk(false), all: walk(true) };
}

/** The files' size in bytes. */
export const bytes = (files: string[]) => files.reduce((n, f) => n + statSync(f).size, 0);
