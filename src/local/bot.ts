import { join } from 'node:path';
import type { Logger } from '../app/ports.js';
import { recoverStaleExecuting, recoverStuckApproved } from '../app/recovery.js';
import { recoverStalledEvacuations } from '../app/evacuation-flow.js';
import { runJob } from '../app/worker.js';
import { loadBotSettings } from '../config/env.js';
import { loadSecretFile } from '../config/secret-document.js';
import { ConfigError } from '../config/schema.js';
import { composeRuntime } from '../runtime/compose.js';
import { createJsonLogger } from '../runtime/logger.js';
import { createRouter } from '../runtime/router.js';
import { createSqliteStore } from '../store/sqlite.js';
import { connectionCap, openFileLimit } from './limits.js';
import { createInProcessQueue } from './queue.js';
import { startHttpServer } from './server.js';

type Env = Record<string, string | undefined>;

/**
 * The local bot behind `npm start`: the same router and use cases as the
 * Lambda functions, with SQLite as the store and the worker in-process.
 */
export async function startLocalBot(opts: { env: Env; log?: Logger; now?: () => number; cwd?: string }) {
  const env = opts.env;
  const log = opts.log ?? createJsonLogger();
  const settings = loadBotSettings(env);
  if (!settings.secretFile) throw new ConfigError('the local bot reads its secret from FORCE_DOWN_SECRET_FILE (FORCE_DOWN_SECRET_ID is for AWS)');
  const secret = loadSecretFile(settings.secretFile);
  const port = env.PORT === undefined ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('PORT must be a TCP port number');
  // Inbound sockets are file descriptors, like every call to Nova, Keystone and Slack: cap them well below the limit.
  const maxConnections = connectionCap(settings.maxConnections, openFileLimit());
  const startedAt = (opts.now ?? Date.now)();
  const store = createSqliteStore({ path: env.FORCE_DOWN_DB ?? join(opts.cwd ?? process.cwd(), '.data', 'force-down.sqlite') });

  // The queue runs jobs only after they are enqueued, by which time `rt` exists.
  const queue = createInProcessQueue((job) => runJob(rt.deps, job), log);
  let stopping = false;
  const rt = composeRuntime({ settings, secret, store, enqueue: queue.enqueue, log, stopping: () => stopping, ...(opts.now ? { now: opts.now } : {}) });
  const router = createRouter({ slack: async () => rt.slack, alerts: async () => rt.alerts, now: opts.now ?? Date.now, log });
  const server = await startHttpServer({
    host: '127.0.0.1',
    port,
    handle: router,
    preflight: router.preflight,
    limits: { maxConnections },
    log,
    onError: (err) => log.error('request failed', { error: (err as Error)?.name }),
  });
  // Expired cards must stop offering buttons even if nobody clicks them: sweep every minute.
  const sweep = setInterval(() => void queue.enqueue({ kind: 'sweep' }), 60_000);
  sweep.unref();
  // No job of an earlier process still runs: settle the requests it left in `executing`, and run (or,
  // if their confirmation is stale, fail) the confirmed ones whose job died in its queue (src/app/recovery.ts).
  const recovered = (async () => {
    await recoverStaleExecuting(rt.deps, { orphanedBefore: startedAt });
    await recoverStuckApproved(rt.deps, { orphanedBefore: startedAt });
    // Evacuations an earlier process was following (or never started): followed again, nothing resent.
    await recoverStalledEvacuations(rt.deps, { atStart: true });
  })().catch((err: unknown) => log.error('recovery failed', { error: (err as Error)?.name }));
  return {
    url: server.url,
    /** The inbound connection cap in force (FORCE_DOWN_MAX_CONNECTIONS, or its default). */
    maxConnections,
    deps: rt.deps,
    queue,
    async close() {
      clearInterval(sweep);
      // Evacuation jobs stop following within a poll; the next start resumes them from the ledger.
      stopping = true;
      await recovered;
      await server.close();
      await queue.idle();
      await rt.close();
      store.close();
    },
  };
}
