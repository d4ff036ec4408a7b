// The probe and metrics endpoints: bind addresses and what /healthz, /readyz and /metrics answer.
import assert from "node:assert/strict";
import { parseBindAddress, serveEndpoints } from "../../../lib/operator/endpoints.ts";

Deno.test("bind addresses parse like controller-runtime's", () => {
  assert.deepEqual(parseBindAddress(":8080", "--m"), { hostname: "0.0.0.0", port: 8080 });
  assert.deepEqual(parseBindAddress("127.0.0.1:0", "--m"), { hostname: "127.0.0.1", port: 0 });
  assert.deepEqual(parseBindAddress("[::1]:9", "--m"), { hostname: "::1", port: 9 });
  assert.equal(parseBindAddress("0", "--m"), undefined);
  for (const bad of ["8080", "host:", ":99999", "a b:1", ""]) {
    assert.throws(
      () => parseBindAddress(bad, "--metrics-bind-address"),
      /--metrics-bind-address: invalid bind address/,
    );
  }
});

Deno.test("probes answer 200 or 503 with the reason, metrics in text format", async () => {
  let ready = false;
  await using server = serveEndpoints({ hostname: "127.0.0.1", port: 0 }, {
    healthz: () => ({ ready: true, detail: "alive" }),
    readyz: () => ({ ready, detail: "tenant watch not synced" }),
    metrics: () => "up 1\n",
  });
  const get = async (path: string, method = "GET") => {
    const response = await fetch(`http://127.0.0.1:${server.port}${path}`, { method });
    return {
      status: response.status,
      body: await response.text(),
      type: response.headers.get("content-type"),
    };
  };
  assert.equal((await get("/healthz")).status, 200);
  assert.deepEqual(await get("/readyz"), {
    status: 503,
    body: "not ready: tenant watch not synced\n",
    type: "text/plain; charset=utf-8",
  });
  ready = true;
  assert.equal((await get("/readyz")).status, 200);
  const metrics = await get("/metrics");
  assert.equal(metrics.body, "up 1\n");
  assert.match(metrics.type ?? "", /version=0\.0\.4/);
  assert.equal((await get("/nope")).status, 404);
  assert.equal((await get("/healthz", "POST")).status, 405);
});
