// The Prometheus registry behind /metrics: its text format and escaping.
import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry } from "../../../lib/metrics/registry.ts";

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
