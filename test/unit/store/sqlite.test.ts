import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore, type SqliteRequestStore } from '../../../src/store/sqlite.js';
import { aFullRequest, aGroup, aRequest, at } from './builders.js';
import { describeRequestStoreContract } from './contract.js';
import type { RacerResult } from './sqlite-racer.js';

const dirs: string[] = [];
function tempDbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'force-down-store-'));
  dirs.push(dir);
  // A folder that does not exist yet: the store creates it.
  return join(dir, 'state', 'nested', 'requests.db');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeRequestStoreContract('sqlite', () => {
  const path = tempDbPath();
  const store = createSqliteStore({ path });
  return {
    store,
    async plantLock(key, requestId) {
      const raw = new Database(path);
      raw.prepare('INSERT OR REPLACE INTO locks (lock_key, request_id) VALUES (?, ?)').run(key, requestId);
      raw.close();
    },
    dispose: () => store.close(),
  };
});

describe('sqlite store', () => {
  const open: SqliteRequestStore[] = [];
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  const make = (path: string) => {
    const s = createSqliteStore({ path });
    open.push(s);
    return s;
  };

  it('creates the parent folder, uses WAL, and keeps requests across a reopen', async () => {
    const path = tempDbPath();
    const first = createSqliteStore({ path });
    const request = aFullRequest({ state: 'pending' });
    await first.create(request);
    first.close();
    expect(existsSync(path)).toBe(true);

    const again = make(path);
    expect(await again.get(request.id)).toEqual(request);
    expect(await again.findOpen('prod-east', 'compute1', 'force-down')).toEqual(request);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('opens a file written by the version before groups, keeping its requests', async () => {
    const path = tempDbPath();
    make(path).close(); // only to create the folder
    rmSync(path);
    const old = new Database(path);
    old.exec(`
      CREATE TABLE requests (id TEXT PRIMARY KEY, lock_key TEXT NOT NULL, state TEXT NOT NULL, json TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE INDEX requests_by_state ON requests (state);
      CREATE TABLE locks (lock_key TEXT PRIMARY KEY, request_id TEXT NOT NULL);
    `);
    const { group: _g, alertResolvedAt: _r, ...legacy } = aFullRequest({ state: 'pending' });
    old.prepare('INSERT INTO requests VALUES (?, ?, ?, ?, ?)').run(legacy.id, 'prod-east#compute1#force-down', 'pending', JSON.stringify(legacy), legacy.updatedAt);
    old.prepare('INSERT INTO locks VALUES (?, ?)').run('prod-east#compute1#force-down', legacy.id);
    old.close();

    const store = make(path);
    expect(await store.get(legacy.id)).toEqual(legacy);
    expect(await store.markAlertResolved(legacy.id, at(9))).toEqual({ ...legacy, alertResolvedAt: at(9) });
    const group = aGroup({ members: [legacy.id] });
    await store.createGroup(group);
    expect(await store.findRecentGroup(group.channel, group.createdAt)).toEqual(group);
  });

  it('keeps groups in the groups table, indexed by (channel, created_at)', async () => {
    const path = tempDbPath();
    const store = make(path);
    const group = aGroup({ createdAt: '2025-03-01T11:00:00+01:00' });
    await store.createGroup(group);
    await store.addToGroup(group.id, ['req-a']);
    const raw = new Database(path, { readonly: true });
    const row = raw.prepare('SELECT channel, created_at, json FROM groups WHERE id = ?').get(group.id) as Record<string, string>;
    const plan = raw.prepare("EXPLAIN QUERY PLAN SELECT json FROM groups WHERE channel = 'C0ONCALL' AND created_at >= '' ORDER BY created_at DESC LIMIT 1").all();
    raw.close();
    // created_at in toISOString form, so that string order is time order; the JSON keeps createdAt as given.
    expect(row).toMatchObject({ channel: 'C0ONCALL', created_at: '2025-03-01T10:00:00.000Z' });
    expect(JSON.parse(row.json ?? '{}')).toEqual({ ...group, members: ['req-a'] });
    expect(JSON.stringify(plan)).toContain('groups_by_channel');
  });

  it('keeps the state, lock_key and updated_at columns in step with the JSON', async () => {
    const path = tempDbPath();
    const store = make(path);
    const request = aRequest();
    await store.create(request);
    await store.transition(request.id, ['pending'], 'cancelled', at(4), {}, 'U0X');
    const raw = new Database(path, { readonly: true });
    const row = raw.prepare('SELECT lock_key, state, updated_at, json FROM requests WHERE id = ?').get(request.id) as Record<string, string>;
    const locks = raw.prepare('SELECT * FROM locks').all();
    raw.close();
    expect(row).toMatchObject({ lock_key: 'prod-east#compute1#force-down', state: 'cancelled', updated_at: at(4) });
    expect(JSON.parse(row.json ?? '{}')).toMatchObject({ state: 'cancelled', updatedAt: at(4) });
    expect(locks).toEqual([]); // released in the same transaction
  });

  it('two stores on one file see each other (one lock, one winner)', async () => {
    const path = tempDbPath();
    const a = make(path);
    const b = make(path);
    const first = aRequest();
    await a.create(first);
    expect(await b.create(aRequest())).toEqual({ created: false, existing: first });
    expect((await b.transition(first.id, ['pending'], 'approved', at(1))).ok).toBe(true);
    expect((await a.transition(first.id, ['pending'], 'cancelled', at(1))).ok).toBe(false);
  });

  it('is race-correct across processes sharing the file', { timeout: 30_000 }, async () => {
    const path = tempDbPath();
    const seed = make(path);
    const shared = aRequest({ host: 'compute-shared' });
    await seed.create(shared);

    const PROCESSES = 4;
    const PER_PROCESS = 25;
    const racer = fileURLToPath(new URL('./sqlite-racer.ts', import.meta.url));
    const children = Array.from({ length: PROCESSES }, (_, i) =>
      spawn(process.execPath, ['--import', 'tsx', racer, path, shared.id, `p${i}`, String(PER_PROCESS)], { stdio: ['pipe', 'pipe', 'inherit'] }),
    );
    const outputs = children.map((child) => {
      const lines = createInterface({ input: child.stdout });
      const it = lines[Symbol.asyncIterator]();
      return { child, next: async () => (await it.next()).value as string | undefined };
    });
    // Let every process load first, then start them together.
    for (const o of outputs) expect(await o.next()).toBe('ready');
    for (const o of outputs) o.child.stdin.end('go\n');
    const results = await Promise.all(
      outputs.map(async (o) => {
        const line = await o.next();
        if (line === undefined) throw new Error('a racer process died (its stderr is above)');
        return JSON.parse(line) as RacerResult;
      }),
    );

    const created = results.flatMap((r) => r.created);
    expect(created).toHaveLength(1);
    expect(new Set(results.flatMap((r) => r.existing))).toEqual(new Set(created));
    expect(results.reduce((n, r) => n + r.transitionsWon, 0)).toBe(1);
    expect(results.reduce((n, r) => n + r.created.length + r.existing.length, 0)).toBe(PROCESSES * PER_PROCESS);
    expect((await seed.get(shared.id))?.history).toHaveLength(2);
  });
});

