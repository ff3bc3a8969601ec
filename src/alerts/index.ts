import { parseAlertmanager } from './alertmanager.js';
import { parseDoctor } from './doctor.js';
import { parseGeneric } from './generic.js';
import { parseGrafana } from './grafana.js';
import type { AlertOptions, AlertSource, ParseResult } from './types.js';

export * from './types.js';
export { hostFromLabels } from './host.js';
export { checkBearer, verifyGrafanaSignature, GRAFANA_SIGNATURE_HEADER, GRAFANA_TIMESTAMP_HEADER } from './auth.js';
export { parseAlertmanager, parseDoctor, parseGeneric, parseGrafana };

const PARSERS: Record<AlertSource, (body: unknown, options: AlertOptions) => ParseResult> = {
  alertmanager: parseAlertmanager,
  grafana: parseGrafana,
  doctor: parseDoctor,
  generic: parseGeneric,
};

/** Parses a webhook body from `source` into host alerts. */
export function parseAlerts(source: AlertSource, body: unknown, options: AlertOptions): ParseResult {
  return PARSERS[source](body, options);
}
