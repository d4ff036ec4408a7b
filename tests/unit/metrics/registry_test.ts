// The Prometheus registry behind /metrics: its text format and escaping.
import assert from "node:assert/strict";
import {
  CollectedCounter,
  CollectedGauge,
  Counter,
  Gauge,
  Histogram,
  registerProcessMetrics,
  Registry,
} from "../../../lib/metrics/mod.ts";

Deno.test("registry exposes counters, gauges and histograms in Prometheus text format", () => {
  const registry = new Registry();
  const total = registry.register(new Counter("reqs_total", "Requests."));
  const depth = registry.register(new Gauge("depth", "Depth."));
  const time = registry.register(new Histogram("t_seconds", "Time.", [0.1, 1]));
  total.inc({ code: "200", method: "GET" });
  total.inc({ method: "GET", code: "200" }, 2);
  total.inc({ code: "500", method: "GET" });
  depth.set({ name: "q" }, 4);
  depth.add({ name: "q" }, -1);
  time.observe({}, 0.05);
  time.observe({}, 0.5);
  time.observe({}, 5);
  assert.equal(
    registry.expose(),
    [
      "# HELP reqs_total Requests.",
      "# TYPE reqs_total counter",
      'reqs_total{code="200",method="GET"} 3',
      'reqs_total{code="500",method="GET"} 1',
      "# HELP depth Depth.",
      "# TYPE depth gauge",
      'depth{name="q"} 3',
      "# HELP t_seconds Time.",
      "# TYPE t_seconds histogram",
      't_seconds_bucket{le="0.1"} 1',
      't_seconds_bucket{le="1"} 2',
      't_seconds_bucket{le="+Inf"} 3',
      "t_seconds_sum 5.55",
      "t_seconds_count 3",
      "",
    ].join("\n"),
  );
});

Deno.test("label values are escaped and re-registering returns the same family", () => {
  const registry = new Registry();
  const a = registry.register(new Counter("c", "C."));
  const b = registry.register(new Counter("c", "C."));
  assert.equal(a, b);
  a.inc({ v: 'quote" back\\ nl\n' });
  assert.match(registry.expose(), /c\{v="quote\\" back\\\\ nl\\n"\} 1/);
  assert.throws(() => registry.register(new Gauge("c", "C.")), /already registered/);
});

Deno.test("a removed series leaves the exposition; collected families are read when scraped", () => {
  const registry = new Registry();
  const gauge = registry.register(new Gauge("g", "G."));
  gauge.set({ a: "1" }, 1);
  gauge.set({ a: "2" }, 2);
  gauge.remove({ a: "1" });
  let value = 1;
  registry.register(new CollectedGauge("cg", "CG.", () => [{ labels: { x: "y" }, value }]));
  registry.register(new CollectedCounter("cc_total", "CC.", () => [{ labels: {}, value: 3 }]));
  value = 7;
  assert.equal(
    registry.expose(),
    [
      "# HELP g G.",
      "# TYPE g gauge",
      'g{a="2"} 2',
      "# HELP cg CG.",
      "# TYPE cg gauge",
      'cg{x="y"} 7',
      "# HELP cc_total CC.",
      "# TYPE cc_total counter",
      "cc_total 3",
      "",
    ].join("\n"),
  );
});

Deno.test("process metrics: resident memory, CPU seconds and start time of this process", () => {
  const registry = new Registry();
  registerProcessMetrics(registry);
  const samples = new Map(
    registry.expose().split("\n").filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => line.split(" ") as [string, string]),
  );
  assert.deepEqual([...samples.keys()], [
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "process_start_time_seconds",
  ]);
  const rss = Number(samples.get("process_resident_memory_bytes"));
  assert.ok(rss > 10 * 2 ** 20 && rss < 8 * 2 ** 30, `RSS ${rss} bytes`);
  assert.ok(Number(samples.get("process_cpu_seconds_total")) > 0);
  const started = Number(samples.get("process_start_time_seconds"));
  assert.ok(started <= Date.now() / 1000 && started > Date.now() / 1000 - 3600, `${started}`);
});
