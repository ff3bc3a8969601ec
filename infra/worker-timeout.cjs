// The worker's Lambda timeout, from the stage parameter bmcPowerOffTimeoutSeconds (the
// worker's FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS): how long "power off now" waits for a
// host's BMC to report Off once it accepted the power-off.
//
// The longest paths of an execute job:
//   power off now   the BMC's login and reset (a few requests, 10 s deadline each), up to
//                   bmcPowerOffTimeoutSeconds of polling for Off, then Nova's read and PUT
//   other methods   one BMC read, the heartbeat watch (heartbeatWaitSeconds, at most 120 s),
//                   then Nova's PUT
// so the worker gets the power-off timeout plus MARGIN_SECONDS, and never less than the 180 s
// the heartbeat path needs. Lambda allows at most 900 s: the parameter is capped so that the
// timeout fits (a larger value fails packaging with a message, rather than a worker Lambda
// kills in the middle of a power-off).
//
// serverless.yml reads `timeout` (functions.worker.timeout) and `seconds` (the environment
// variable) with osls's `file` variable source.

'use strict';

const LAMBDA_MAX_SECONDS = 900;
const MARGIN_SECONDS = 120;
const MIN_WORKER_SECONDS = 180;
const MIN_SECONDS = 10;
const MAX_SECONDS = LAMBDA_MAX_SECONDS - MARGIN_SECONDS;
const DEFAULT_SECONDS = 120;

/** An error osls shows as its message alone (it prints `error.stack` when there is one). */
function configError(message) {
  const error = new Error(message);
  error.stack = message;
  return error;
}

async function powerOffSeconds(resolveVariable) {
  const raw = String((await resolveVariable('param:bmcPowerOffTimeoutSeconds')) ?? '').trim();
  if (raw === '') return DEFAULT_SECONDS;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < MIN_SECONDS || n > MAX_SECONDS) {
    throw configError(
      `Stage parameter bmcPowerOffTimeoutSeconds must be a whole number of seconds from ${MIN_SECONDS} to ${MAX_SECONDS} ` +
        `(got ${JSON.stringify(raw.slice(0, 20))}): the worker's Lambda timeout is that plus ${MARGIN_SECONDS} s, and Lambda allows at most ${LAMBDA_MAX_SECONDS} s.`,
    );
  }
  return n;
}

module.exports = {
  /** provider.environment.FORCE_DOWN_BMC_POWER_OFF_TIMEOUT_SECONDS (a string, as every environment value). */
  async seconds({ resolveVariable }) {
    return String(await powerOffSeconds(resolveVariable));
  },
  /** functions.worker.timeout */
  async timeout({ resolveVariable }) {
    return Math.max(MIN_WORKER_SECONDS, (await powerOffSeconds(resolveVariable)) + MARGIN_SECONDS);
  },
};
