// The public face of the metrics package: a small Prometheus registry, its metric kinds, and the
// standard process metrics.
export {
  CollectedCounter,
  CollectedGauge,
  Counter,
  escapeLabelValue,
  formatLabels,
  Gauge,
  Histogram,
  type Labels,
  type Metric,
  Registry,
} from "./registry.ts";
export { registerProcessMetrics } from "./process.ts";
