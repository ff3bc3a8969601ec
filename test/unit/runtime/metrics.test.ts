import { describe, expect, it } from 'vitest';
import { runWithLogContext } from '../../../src/runtime/logger.js';
import { createEmfMetrics, METRICS } from '../../../src/runtime/metrics.js';
import { captureStdout } from '../powertools.js';

// Powertools' Metrics writes each EMF line to stdout: the test reads them there.
const written = captureStdout();

const NOW = Date.now();
function recorder() {
  const metrics = createEmfMetrics({ namespace: 'ForceDown', dimensions: { Stage: 'prod' }, now: () => NOW });
  return { metrics, lines: written, parsed: () => written().map((l) => JSON.parse(l) as Record<string, any>) };
}

/** What CloudWatch extracts from one EMF line: for each metric directive, the metric's value and its dimension values. */
function extract(line: Record<string, any>) {
  return (line._aws.CloudWatchMetrics as any[]).flatMap((d) =>
    (d.Metrics as { Name: string; Unit: string }[]).map((m) => ({
      namespace: d.Namespace as string,
      name: m.Name,
      unit: m.Unit,
      value: line[m.Name] as number,
      dimensions: Object.fromEntries((d.Dimensions as string[][]).flat().map((k) => [k, line[k]])),
    })),
  );
}

describe('createEmfMetrics (CloudWatch Embedded Metric Format, through Powertools Metrics)', () => {
  it('writes one JSON line per data point, with the _aws directive CloudWatch needs', () => {
    const { metrics, lines, parsed } = recorder();

    metrics.count('RequestsOpened', { Action: 'force-down', Origin: 'slash' });

    expect(lines()).toHaveLength(1);
    expect(lines()[0]!.trimEnd()).not.toContain('\n');
    const [line] = parsed();
    expect(line!._aws).toEqual({
      Timestamp: NOW,
      CloudWatchMetrics: [{ Namespace: 'ForceDown', Dimensions: [['service', 'Stage', 'Action', 'Origin']], Metrics: [{ Name: 'RequestsOpened', Unit: 'Count' }] }],
    });
    expect(extract(line!)).toEqual([
      { namespace: 'ForceDown', name: 'RequestsOpened', unit: 'Count', value: 1, dimensions: { service: 'force-down', Stage: 'prod', Action: 'force-down', Origin: 'slash' } },
    ]);
  });

  it('outcomes by code, confirmations, and Nova latency in milliseconds: each data point with its own dimensions only', () => {
    const { metrics, parsed } = recorder();

    metrics.count('Confirmations', { Action: 'unset' });
    metrics.count('Outcomes', { Action: 'force-down', Code: 'NOVA_FORBIDDEN' });
    metrics.count('Outcomes', { Action: 'force-down', Code: 'OK' }, 3);
    metrics.timing('NovaLatency', 26.4567, { Operation: 'setForcedDown' });

    const base = { service: 'force-down', Stage: 'prod' };
    expect(parsed().flatMap(extract).map(({ name, unit, value, dimensions }) => ({ name, unit, value, dimensions }))).toEqual([
      { name: 'Confirmations', unit: 'Count', value: 1, dimensions: { ...base, Action: 'unset' } },
      { name: 'Outcomes', unit: 'Count', value: 1, dimensions: { ...base, Action: 'force-down', Code: 'NOVA_FORBIDDEN' } },
      { name: 'Outcomes', unit: 'Count', value: 3, dimensions: { ...base, Action: 'force-down', Code: 'OK' } },
      { name: 'NovaLatency', unit: 'Milliseconds', value: 26.457, dimensions: { ...base, Operation: 'setForcedDown' } },
    ]);
  });

  it('every metric has a unit CloudWatch knows', () => {
    for (const unit of Object.values(METRICS)) expect(['Count', 'Milliseconds']).toContain(unit);
  });

  it('carries the log context (correlation id) as plain properties, which never shadow a dimension or the value', () => {
    const { metrics, parsed } = recorder();

    runWithLogContext({ correlationId: 'req-123', Code: 'from-context', Outcomes: 99 }, () => metrics.count('Outcomes', { Action: 'force-down', Code: 'OK' }));
    metrics.count('Confirmations', { Action: 'unset' });

    const [line, outside] = parsed();
    expect(line!.correlationId).toBe('req-123');
    expect(extract(line!)[0]).toMatchObject({ value: 1, dimensions: { Code: 'OK' } });
    // The context of one request does not stick to the next line.
    expect(outside!.correlationId).toBeUndefined();
  });

  it('drops a value that is not a finite number rather than writing an invalid line', () => {
    const { metrics, lines } = recorder();
    metrics.timing('NovaLatency', Number.NaN);
    metrics.count('Outcomes', {}, Number.POSITIVE_INFINITY);
    expect(lines()).toEqual([]);
  });

  it('writes to stdout by default, one line each (Lambda ships stdout to CloudWatch Logs, where EMF lines become metrics)', () => {
    createEmfMetrics().count('Confirmations');
    expect(written()).toHaveLength(1);
    expect(written()[0]!.endsWith('\n')).toBe(true);
    expect(extract(JSON.parse(written()[0]!))).toMatchObject([{ namespace: 'ForceDown', name: 'Confirmations', value: 1, dimensions: { service: 'force-down' } }]);
  });
});
