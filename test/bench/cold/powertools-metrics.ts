// Cold-init probe: Powertools' Metrics (EMF), alone.
export { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
