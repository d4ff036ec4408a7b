// The PromQL selector lexer the monitoring tests rely on: it finds every vector selector and
// nothing else (functions, aggregations, label lists, durations, strings, numbers).
import assert from "node:assert/strict";
import { PromqlLexError, vectorSelectors } from "../../support/promql.ts";

const texts = (expr: string) => vectorSelectors(expr).map((selector) => selector.text);

Deno.test("vector selectors of aggregations, functions, ranges and binary operators", () => {
  assert.deepEqual(
    texts(
      'sum by (code, method) (rate(rest_client_requests_total{job="$job"}[$__rate_interval]))',
    ),
    ['rest_client_requests_total{job="$job"}'],
  );
  assert.deepEqual(
    texts(
      `histogram_quantile(0.99, sum by (le) (rate(x_bucket{a="}", b=~"[a-z]+"}[5m:1m] offset 1h)))
       / on (instance) group_left(pod) y > bool 1e3 and count(z) without (le) unless {job="j"}`,
    ),
    ['x_bucket{a="}", b=~"[a-z]+"}', "y", "z", '{job="j"}'],
  );
  assert.deepEqual(
    texts('absent(up{job="x"} == 1) or max(m) by (name) == 0 or vector(0) or time() - s @ start()'),
    ['up{job="x"}', "m", "s"],
  );
  assert.deepEqual(
    texts('label_replace(a, "dst", "$1", "src", "(.*)") # a comment naming b{c="d"}\n+ inf'),
    ["a"],
  );
  assert.deepEqual(vectorSelectors("count by (reason) (kleff_tenant_condition)"), [
    { metric: "kleff_tenant_condition", text: "kleff_tenant_condition" },
  ]);
});

Deno.test("an unclosed string or group is an error naming the expression", () => {
  assert.throws(() => vectorSelectors('up{job="x}'), PromqlLexError);
  assert.throws(() => vectorSelectors("sum(rate(x[5m])"), /unclosed \( in PromQL expression/);
});
