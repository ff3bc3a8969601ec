// Stand-in for modules that @slack/bolt requires at load but the Lambda path never
// runs: express, raw-body and @slack/socket-mode (Bolt's receivers; src/slack/bot.ts
// hands Bolt parsed envelopes with one of its own), @slack/oauth (its installer; we
// authorize with one bot token) and form-data (multipart file uploads, with
// mime-db). esbuild maps them here (esbuild.config.mjs): ~1.3 MB less to load at
// every cold start. Calling or constructing it is a bug, and says so.
module.exports = function notBundled() {
  throw new Error('this module is not part of the force-down Lambda bundle');
};
