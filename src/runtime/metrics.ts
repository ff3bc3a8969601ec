import { Metrics as PowertoolsMetrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricName, Metrics } from '../app/ports.js';
import { currentLogContext, SERVICE_NAME } from './logger.js';

/** The metrics force-down emits, with their units (the names are what dashboards and alarms use). */
export const METRICS = {
  /** A request was opened (slash command or alert). Dimensions: Action, Origin. */
  RequestsOpened: MetricUnit.Count,
  /** A fence (or recovery) confirmation was accepted. Dimensions: Action. */
  Confirmations: MetricUnit.Count,
  /** A confirmed request was executed. Dimensions: Action, Code (`OK` or a failure code). */
  Outcomes: MetricUnit.Count,
  /** One Nova call as the bot saw it (Keystone authentication included when it had to authenticate). Dimensions: Operation. */
  NovaLatency: MetricUnit.Milliseconds,
} as const satisfies Record<MetricName, 'Count' | 'Milliseconds'>;

export interface EmfMetricsOptions {
  /** CloudWatch namespace. Default `ForceDown`. */
  namespace?: string;
  /** Dimensions on every metric (e.g. `{ Stage: 'prod' }`), after Powertools' `service`. */
  dimensions?: Record<string, string>;
  now?: () => number;
}

/**
 * CloudWatch Embedded Metric Format through Powertools for AWS Lambda's
 * Metrics: one JSON line per data point on stdout, flushed at once (a Lambda
 * may be frozen right after it returns, so nothing is buffered). Dimensions:
 * `service` (force-down), the given ones (Stage), then the data point's own.
 * Each line also carries the current log context (correlation id) as
 * metadata, plain properties that never shadow a dimension or the value, so
 * a metric's line can be found next to the logs of the same request.
 */
export function createEmfMetrics(opts: EmfMetricsOptions = {}): Metrics {
  const metrics = new PowertoolsMetrics({ namespace: opts.namespace ?? 'ForceDown', serviceName: SERVICE_NAME, defaultDimensions: opts.dimensions ?? {} });
  const now = opts.now ?? Date.now;

  function emit(name: MetricName, value: number, dimensions: Record<string, string> = {}): void {
    if (!Number.isFinite(value)) return;
    const reserved = new Set([name, ...Object.keys(opts.dimensions ?? {}), ...Object.keys(dimensions), 'service', '_aws']);
    for (const [k, v] of Object.entries(currentLogContext())) if (!reserved.has(k)) metrics.addMetadata(k, typeof v === 'string' ? v : JSON.stringify(v));
    for (const [k, v] of Object.entries(dimensions)) metrics.addDimension(k, v);
    metrics.setTimestamp(now());
    metrics.addMetric(name, METRICS[name], value);
    metrics.publishStoredMetrics();
  }

  return {
    count: (name, dimensions, value = 1) => emit(name, value, dimensions),
    timing: (name, ms, dimensions) => emit(name, Math.round(ms * 1000) / 1000, dimensions),
  };
}
