// A child process for sqlite.test.ts: races other processes on one database file.
// Usage: node --import tsx sqlite-racer.ts <path> <sharedId> <name> <count>
// Prints "ready", waits for a line on stdin, then prints one RacerResult as JSON.
import { createInterface } from 'node:readline';
import { createSqliteStore } from '../../../src/store/sqlite.js';
import { at, aRequest } from './builders.js';

/** What the racer prints. */
export interface RacerResult {
  created: string[];
  existing: string[];
  transitionsWon: number;
}

const [path, sharedId, name, count] = process.argv.slice(2);
if (!path || !sharedId || !name || !count) throw new Error('usage: sqlite-racer <path> <sharedId> <name> <count>');

const store = createSqliteStore({ path, busyTimeoutMs: 10_000 });
const result: RacerResult = { created: [], existing: [], transitionsWon: 0 };
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const _line of lines) break;

for (let i = 0; i < Number(count); i++) {
  const res = await store.create(aRequest({ id: `${name}-${i}` }));
  if (res.created) result.created.push(res.request.id);
  else result.existing.push(res.existing.id);
  const t = await store.transition(sharedId, ['pending'], 'approved', at(1), {}, name);
  if (t.ok) result.transitionsWon++;
}
store.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
