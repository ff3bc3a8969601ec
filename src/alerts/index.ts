import { parseAlertmanager } from './alertmanager.js';
import { parseDoctor } from './doctor.js';
import { parseGeneric } from './generic.js';
import { parseGrafana } from './grafana.js';
import { parsePagerDuty, type PagerDutyOptions } from './pagerduty.js';
import type { AlertOptions, AlertSource, ParseResult } from './types.js';

export * from './types.js';
export { hostFromLabels } from './host.js';
export { checkBearer, verifyGrafanaSignature, GRAFANA_SIGNATURE_HEADER, GRAFANA_TIMESTAMP_HEADER } from './auth.js';
export { parseAlertmanager, parseDoctor, parseGeneric, parseGrafana, parsePagerDuty };
export { verifyPagerDutySignature, pagerDutySignatures, PAGERDUTY_SIGNATURE_HEADER, type PagerDutyOptions } from './pagerduty.js';

const PARSERS: Record<AlertSource, (body: unknown, options: AlertOptions & PagerDutyOptions) => ParseResult> = {
  alertmanager: parseAlertmanager,
  grafana: parseGrafana,
  doctor: parseDoctor,
  generic: parseGeneric,
  pagerduty: parsePagerDuty,
};

/** Parses a webhook body from `source` into host alerts. */
export function parseAlerts(source: AlertSource, body: unknown, options: AlertOptions & PagerDutyOptions): ParseResult {
  return PARSERS[source](body, options);
}
