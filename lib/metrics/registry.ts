// A tiny Prometheus registry (counters, gauges, histograms with labels) and
// its text exposition, so the operator exports controller-runtime's metric
// names without pulling in a client library.

/** Label names to values for one series. */
export type Labels = Record<string, string>;

/** The common face of every metric kind: it can print itself. */
export interface Metric {
  /** Metric family name, e.g. `workqueue_depth`. */
  readonly name: string;
  /** Prometheus text exposition lines for this family (HELP, TYPE, samples). */
  expose(): string;
}

/** A label value escaped as the text format demands (backslash, double quote, line feed). */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')
    : value;
}

/** Formats a label set as `{a="x",b="y"}` (names sorted), escaping as the text format demands. */
export function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return `{${keys.map((key) => `${key}="${escapeLabelValue(labels[key])}"`).join(",")}}`;
}

/** Prometheus number formatting (`+Inf`, `NaN`). */
function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return Number.isNaN(value) ? "NaN" : String(value);
}

/** One series of a family: its labels and value. */
export interface Sample {
  /** The series' labels. */
  labels: Labels;
  /** The series' value. */
  value: number;
}

/** The HELP and TYPE lines of a family, then one line per sample. */
function exposeFamily(
  metric: { name: string; help: string; type: string },
  samples: Iterable<Sample>,
): string {
  const lines = [`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`];
  for (const { labels, value } of samples) {
    lines.push(`${metric.name}${formatLabels(labels)} ${formatValue(value)}`);
  }
  return lines.join("\n");
}

/** Shared storage of labelled series for counters and gauges. */
abstract class ScalarMetric implements Metric {
  #series = new Map<string, number>();
  abstract readonly type: "counter" | "gauge";

  /** Creates a family with its name and help text. */
  constructor(readonly name: string, readonly help: string) {}

  protected change(labels: Labels, update: (old: number) => number): void {
    const key = formatLabels(labels);
    this.#series.set(key, update(this.#series.get(key) ?? 0));
  }

  /** Removes the series for `labels` (it disappears from the exposition). */
  remove(labels: Labels): void {
    this.#series.delete(formatLabels(labels));
  }

  /** Text exposition of every series. */
  expose(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const [key, value] of this.#series) {
      lines.push(`${this.name}${key} ${formatValue(value)}`);
    }
    return lines.join("\n");
  }
}

/** A monotonically increasing counter. */
export class Counter extends ScalarMetric {
  /** Always `counter`. */
  readonly type = "counter";

  /** Adds `by` (default 1) to the series for `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    this.change(labels, (old) => old + by);
  }
}

/** A value that goes up and down. */
export class Gauge extends ScalarMetric {
  /** Always `gauge`. */
  readonly type = "gauge";

  /** Sets the series for `labels` to `value`. */
  set(labels: Labels, value: number): void {
    this.change(labels, () => value);
  }

  /** Adds `by` (may be negative) to the series for `labels`. */
  add(labels: Labels, by: number): void {
    this.change(labels, (old) => old + by);
  }
}

/**
 * A family whose series are read when it is scraped, from `collect` (client_golang's GaugeFunc and
 * collectors): for values kept elsewhere, such as process statistics or per-tenant state.
 */
abstract class CollectedMetric implements Metric {
  abstract readonly type: "counter" | "gauge";

  /** Creates a family with its name, help text and the function listing its samples. */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly collect: () => Iterable<Sample>,
  ) {}

  /** Text exposition of the samples `collect` returns now. */
  expose(): string {
    return exposeFamily(this, this.collect());
  }
}

/** A gauge family read when scraped. */
export class CollectedGauge extends CollectedMetric {
  /** Always `gauge`. */
  readonly type = "gauge";
}

/** A counter family read when scraped (`collect` must return values that only grow). */
export class CollectedCounter extends CollectedMetric {
  /** Always `counter`. */
  readonly type = "counter";
}

/** The default buckets of the Prometheus client libraries, in seconds. */
const DEFAULT_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** A histogram of observations with cumulative buckets. */
export class Histogram implements Metric {
  #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  /** Creates a family with its name, help text and bucket upper bounds. */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = DEFAULT_BUCKETS,
  ) {}

  /** Records one observation for `labels`. */
  observe(labels: Labels, value: number): void {
    const key = formatLabels(labels);
    let entry = this.#series.get(key);
    if (!entry) {
      entry = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, entry);
    }
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]) entry.counts[i]++;
    }
    entry.sum += value;
    entry.count++;
  }

  /** Text exposition of every series with `_bucket`, `_sum` and `_count`. */
  expose(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const entry of this.#series.values()) {
      this.buckets.forEach((le, i) => {
        const labels = formatLabels({ ...entry.labels, le: formatValue(le) });
        lines.push(`${this.name}_bucket${labels} ${entry.counts[i]}`);
      });
      lines.push(
        `${this.name}_bucket${formatLabels({ ...entry.labels, le: "+Inf" })} ${entry.count}`,
      );
      lines.push(`${this.name}_sum${formatLabels(entry.labels)} ${formatValue(entry.sum)}`);
      lines.push(`${this.name}_count${formatLabels(entry.labels)} ${entry.count}`);
    }
    return lines.join("\n");
  }
}

/** A set of metric families exposed together on `/metrics`. */
export class Registry {
  #metrics = new Map<string, Metric>();

  /** Adds a family (or returns the one already registered under its name). */
  register<M extends Metric>(metric: M): M {
    const existing = this.#metrics.get(metric.name);
    if (existing) {
      if (existing.constructor !== metric.constructor) {
        throw new Error(`metric ${metric.name} is already registered with another type`);
      }
      return existing as M;
    }
    this.#metrics.set(metric.name, metric);
    return metric;
  }

  /** The Prometheus text exposition (format 0.0.4) of all families. */
  expose(): string {
    return [...this.#metrics.values()].map((metric) => metric.expose()).join("\n") + "\n";
  }
}
