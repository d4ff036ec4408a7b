// The public face of the metrics package: a small Prometheus registry and its metric kinds.
export { Counter, Gauge, Histogram, Registry } from "./registry.ts";
