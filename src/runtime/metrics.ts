import type { MetricName, Metrics } from '../app/ports.js';
import { currentLogContext } from './logger.js';

/** The metrics force-down emits, with their units (the names are what dashboards and alarms use). */
export const METRICS = {
  /** A request was opened (slash command or alert). Dimensions: Action, Origin. */
  RequestsOpened: 'Count',
  /** A fence (or recovery) confirmation was accepted. Dimensions: Action. */
  Confirmations: 'Count',
  /** A confirmed request was executed. Dimensions: Action, Code (`OK` or a failure code). */
  Outcomes: 'Count',
  /** One Nova call as the bot saw it (Keystone authentication included when it had to authenticate). Dimensions: Operation. */
  NovaLatency: 'Milliseconds',
} as const satisfies Record<MetricName, 'Count' | 'Milliseconds'>;

export interface EmfMetricsOptions {
  /** CloudWatch namespace. Default `ForceDown`. */
  namespace?: string;
  /** Dimensions on every metric (e.g. `{ Stage: 'prod' }`). */
  dimensions?: Record<string, string>;
  /** Where a line goes. Default: stdout, which Lambda sends to CloudWatch Logs, where EMF lines become metrics. */
  write?: (line: string) => void;
  now?: () => number;
}

/**
 * CloudWatch Embedded Metric Format, written by hand (no dependency): one
 * JSON line per data point, flushed at once (a Lambda may be frozen right
 * after it returns, so nothing is buffered). Each line also carries the
 * current log context (correlation id) as plain properties, so a metric's
 * line can be found next to the logs of the same request.
 * Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export function createEmfMetrics(opts: EmfMetricsOptions = {}): Metrics {
  const namespace = opts.namespace ?? 'ForceDown';
  const base = opts.dimensions ?? {};
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = opts.now ?? Date.now;

  function emit(name: MetricName, value: number, dimensions: Record<string, string> = {}): void {
    if (!Number.isFinite(value)) return;
    const dims = { ...base, ...dimensions };
    // Property names of the line: the metric's value and its dimensions must not be shadowed by context fields.
    const line = {
      ...currentLogContext(),
      _aws: {
        Timestamp: now(),
        CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [Object.keys(dims)], Metrics: [{ Name: name, Unit: METRICS[name] }] }],
      },
      ...dims,
      [name]: value,
    };
    write(JSON.stringify(line));
  }

  return {
    count: (name, dimensions, value = 1) => emit(name, value, dimensions),
    timing: (name, ms, dimensions) => emit(name, Math.round(ms * 1000) / 1000, dimensions),
  };
}
