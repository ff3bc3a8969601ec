// The local bot (`npm start`'s startLocalBot, SQLite, in-process worker) as a child process of a
// test, so that the test can kill it for real (kill -9) and start it again on the same SQLite file.
// Configured by the environment exactly as `npm start` is. Log lines go to stdout (JSON, one a
// line); once listening it prints {"ready":"<url>"}. With an IPC channel it answers "memory"
// with process.memoryUsage() after a full GC (run it with --expose-gc).
//
// FORCE_DOWN_TEST_SLACK_PACING=off (the load test only) loads src/slack/pacer.ts with no spacing
// between Slack calls (unpaced-slack-hook.mjs says why); nothing else changes.
import { register } from 'node:module';

if (process.env.FORCE_DOWN_TEST_SLACK_PACING === 'off') register('./unpaced-slack-hook.mjs', import.meta.url);
// Imported after the hook is in place.
const { startLocalBot } = await import('../../src/local/bot.js');
const { createJsonLogger } = await import('../../src/runtime/logger.js');

const bot = await startLocalBot({ env: process.env, log: createJsonLogger({ write: (line) => process.stdout.write(`${line}\n`) }) });
process.stdout.write(`${JSON.stringify({ ready: bot.url })}\n`);

process.on('message', (msg: unknown) => {
  if (msg === 'memory') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ memory: process.memoryUsage() });
  } else if (msg === 'idle') {
    void bot.queue.idle().then(() => process.send?.({ idle: true }));
  } else if (msg === 'close') {
    void bot.close().then(() => process.exit(0));
  }
});
