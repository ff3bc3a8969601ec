// A module hook for the load test's bot process only (local-bot-process.ts registers it when
// FORCE_DOWN_TEST_SLACK_PACING=off): src/slack/pacer.ts is loaded with its spacing set to 0 ms.
// Everything else about the pacer stays (one call at a time per channel, in order, Retry-After on
// 429). Why: every alert card goes to the one FORCE_DOWN_CHANNEL, where the real pacer sends about
// one Slack call a second; 1,000 webhooks queue thousands of card updates that would take that many
// seconds to drain. That is Slack's limit, not this server's cost; the load report counts the calls.
const PACER = /\/src\/slack\/pacer\.ts$/;

export async function load(url, context, nextLoad) {
  if (!PACER.test(url)) return nextLoad(url, context);
  const real = JSON.stringify(`${url}?paced`);
  return {
    format: 'module',
    shortCircuit: true,
    source: [
      `export * from ${real};`,
      `import { createChannelPacer as paced } from ${real};`,
      'export function createChannelPacer(opts = {}) { return paced({ ...opts, minIntervalMs: 0 }); }',
    ].join('\n'),
  };
}
