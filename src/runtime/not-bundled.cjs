// Stand-in for modules that @slack/bolt requires at load but only its Express,
// HTTP and Socket Mode receivers use. The Lambda functions use AwsLambdaReceiver,
// so esbuild maps express, raw-body and @slack/socket-mode here (esbuild.config.mjs):
// ~1 MB less to load at every cold start. Calling it is a bug, and says so.
module.exports = function notBundled() {
  throw new Error('this module is not part of the force-down Lambda bundle');
};
