// The request function against a tiny fake server: typed errors, retries, Retry-After, 401 refresh, flow control, abort.
import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import {
  ConflictError,
  type ConnectionConfig,
  ConnectionError,
  InvalidError,
  KubeClient,
  NotFoundError,
  ServerError,
  TooManyRequestsError,
  UnauthorizedError,
} from "../../../lib/client/mod.ts";
import { eventually, sleep, within } from "../../support/wait.ts";

type Handler = (request: Request) => Response | Promise<Response>;

async function withServer(handler: Handler, fn: (url: string) => Promise<void>): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

function client(
  server: string,
  auth: ConnectionConfig["auth"] = { kind: "none" },
  maxInFlight?: number,
): KubeClient {
  return new KubeClient(
    {
      server,
      namespace: "default",
      insecureSkipTlsVerify: false,
      auth,
      source: { kind: "in-cluster", dir: "/x" },
    },
    { maxInFlight, backoff: { initialMs: 5, maxMs: 20 } },
  );
}

function status(
  code: number,
  reason: string,
  extra: Record<string, unknown> = {},
  headers: HeadersInit = {},
): Response {
  return Response.json({
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    code,
    reason,
    message: `${reason}!`,
    ...extra,
  }, {
    status: code,
    headers,
  });
}

Deno.test("Status bodies become typed errors with their details", async () => {
  const answers: Record<string, () => Response> = {
    "/nf": () => status(404, "NotFound", { details: { name: "x", kind: "namespaces" } }),
    "/conflict": () => status(409, "Conflict"),
    "/invalid": () =>
      status(422, "Invalid", {
        details: {
          causes: [{
            field: "spec.plan",
            reason: "FieldValueNotSupported",
            message: "Unsupported value",
          }],
        },
      }),
    "/plain": () => new Response("upstream exploded", { status: 502 }),
  };
  await withServer((request) => answers[new URL(request.url).pathname](), async (url) => {
    using kube = client(url);
    const nf = await kube.request({ path: "/nf", method: "DELETE" }).catch((e) => e);
    assert.ok(nf instanceof NotFoundError);
    assert.equal(nf.message, "DELETE /nf: NotFound! (404 NotFound)");
    assert.equal(nf.details?.name, "x");
    assert.ok(
      await kube.request({ path: "/conflict", method: "PUT" }).catch((e) => e) instanceof
        ConflictError,
    );
    const invalid = await kube.request({ path: "/invalid", method: "POST", body: {} }).catch((e) =>
      e
    );
    assert.ok(invalid instanceof InvalidError);
    assert.deepEqual(invalid.causes, [{
      field: "spec.plan",
      reason: "FieldValueNotSupported",
      message: "Unsupported value",
    }]);
    const plain = await kube.request({ path: "/plain", method: "POST" }).catch((e) => e);
    assert.ok(plain instanceof ServerError);
    assert.match(plain.message, /upstream exploded/);
  });
});

Deno.test("safe requests retry on 5xx and 429 (honouring Retry-After); unsafe ones do not", async () => {
  const script: Response[] = [];
  const times: number[] = [];
  let calls = 0;
  await withServer(() => {
    calls++;
    times.push(Date.now());
    return script.shift() ?? Response.json({ ok: true });
  }, async (url) => {
    using kube = client(url);
    script.push(
      status(500, "InternalError"),
      status(429, "TooManyRequests", {}, { "retry-after": "1" }),
    );
    assert.deepEqual(await kube.request({ path: "/x" }), { ok: true });
    assert.equal(calls, 3);
    assert.ok(times[2] - times[1] >= 950, `Retry-After honoured (${times[2] - times[1]} ms)`);
    calls = 0;
    script.push(status(500, "InternalError"));
    await assert.rejects(kube.request({ path: "/x", method: "POST", body: {} }), ServerError);
    assert.equal(calls, 1);
    script.push(status(429, "TooManyRequests", { details: { retryAfterSeconds: 7 } }));
    const limited = await kube.request({ path: "/x", method: "PATCH", body: {} }).catch((e) => e);
    assert.ok(limited instanceof TooManyRequestsError);
    assert.equal(limited.retryAfterSeconds, 7);
    calls = 0;
    script.push(status(503, "ServiceUnavailable"));
    assert.deepEqual(await kube.request({ path: "/x", method: "PUT", body: {}, retry: true }), {
      ok: true,
    });
    assert.equal(calls, 2);
  });
});

Deno.test("a 401 re-reads a rotated token file once and retries; the token never shows in errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "old-secret-token");
    let accepted = "old-secret-token";
    const seen: string[] = [];
    await withServer((request) => {
      const auth = request.headers.get("authorization") ?? "";
      seen.push(auth);
      return auth === `Bearer ${accepted}`
        ? Response.json({ ok: true })
        : status(401, "Unauthorized");
    }, async (url) => {
      using kube = client(url, { kind: "tokenFile", path: `${dir}/token` });
      await kube.request({ path: "/a" });
      accepted = "new-secret-token";
      await Deno.writeTextFile(`${dir}/token`, "new-secret-token");
      await kube.request({ path: "/a", method: "POST", body: {} });
      assert.deepEqual(seen, [
        "Bearer old-secret-token",
        "Bearer old-secret-token",
        "Bearer new-secret-token",
      ]);
      accepted = "something-else";
      const error = await kube.request({ path: "/a" }).catch((e) => e);
      assert.ok(error instanceof UnauthorizedError);
      assert.equal(seen.length, 5, "exactly one refresh per request");
      assert.ok(!error.message.includes("secret-token"));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("at most maxInFlight requests are in flight", async () => {
  let current = 0;
  let peak = 0;
  await withServer(async () => {
    peak = Math.max(peak, ++current);
    await new Promise((resolve) => setTimeout(resolve, 20)); // slow answers, so requests overlap
    current--;
    return Response.json({});
  }, async (url) => {
    using kube = client(url, { kind: "none" }, 3);
    await Promise.all(Array.from({ length: 12 }, () => kube.request({ path: "/slow" })));
    assert.equal(peak, 3);
  });
});

Deno.test("abort ends a pending request promptly; connection errors are ConnectionErrors", async () => {
  let release!: () => void;
  const hanging = new Promise<void>((resolve) => release = resolve);
  const arrived = Promise.withResolvers<void>();
  await withServer(async () => {
    arrived.resolve();
    await hanging;
    return Response.json({});
  }, async (url) => {
    using kube = client(url);
    const controller = new AbortController();
    const pending = kube.request({ path: "/hang", signal: controller.signal });
    await arrived.promise; // the request is at the server, waiting for an answer
    controller.abort(new Error("stop"));
    await assert.rejects(within(pending, "the aborted request settles", 1_000), /stop/);
    release();
  });
  const port = (() => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    listener.close();
    return port;
  })();
  using kube = new KubeClient({
    server: `http://127.0.0.1:${port}`,
    namespace: "default",
    insecureSkipTlsVerify: false,
    auth: { kind: "token", token: "secret-value-123" },
    source: { kind: "in-cluster", dir: "/x" },
  }, { maxRetries: 1, backoff: { initialMs: 1, maxMs: 2 } });
  const error = await kube.request({ path: "/x" }).catch((e) => e);
  assert.ok(error instanceof ConnectionError, String(error));
  assert.match(error.message, /GET \/x: cannot reach http:\/\/127\.0\.0\.1/);
  assert.ok(!error.message.includes("secret-value-123"));
});

Deno.test("stream() checks the HTTP status like any request", async () => {
  await withServer(
    (request) =>
      new URL(request.url).pathname === "/gone"
        ? status(410, "Gone")
        : new Response("line1\nline2\n"),
    async (url) => {
      using kube = client(url);
      await assert.rejects(kube.stream({ path: "/gone" }), (e: Error) => e.name === "GoneError");
      const body = await kube.stream({ path: "/ok" });
      assert.equal(await new Response(body).text(), "line1\nline2\n");
    },
  );
});

Deno.test("log records of retries and credential refreshes never contain the token", async () => {
  const records: LogRecord[] = [];
  await configure({
    sinks: { memory: (record: LogRecord) => void records.push(record) },
    loggers: [
      { category: ["kleff"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "logged-secret-1");
    let calls = 0;
    await withServer(async (request) => {
      calls++;
      if (calls === 1) {
        await Deno.writeTextFile(`${dir}/token`, "logged-secret-2");
        return status(500, "InternalError");
      }
      return request.headers.get("authorization") === "Bearer logged-secret-2"
        ? Response.json({})
        : status(401, "Unauthorized");
    }, async (url) => {
      using kube = client(url, { kind: "tokenFile", path: `${dir}/token` });
      await kube.request({ path: "/x" });
      assert.equal(calls, 3);
    });
    assert.ok(records.length >= 2, "retry and refresh were logged");
    const text = JSON.stringify(records.map((r) => [r.message, r.properties]));
    assert.ok(!text.includes("logged-secret"), text);
  } finally {
    await reset();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a request waiting to retry holds no in-flight slot: other requests are not starved", async () => {
  const order: string[] = [];
  let flakyCalls = 0;
  await withServer((request) => {
    const path = new URL(request.url).pathname;
    order.push(path);
    if (path === "/flaky" && flakyCalls++ === 0) return status(503, "ServiceUnavailable");
    return Response.json({ path });
  }, async (url) => {
    using kube = new KubeClient({
      server: url,
      namespace: "default",
      insecureSkipTlsVerify: false,
      auth: { kind: "none" },
      source: { kind: "in-cluster", dir: "/x" },
    }, { maxInFlight: 1, backoff: { initialMs: 1000, maxMs: 1000 } });
    const flaky = kube.request({ path: "/flaky" });
    await eventually("the first attempt", () => order.length > 0, { intervalMs: 5 });
    // The scenario, not a wait for quiet: time for the client to take the 503 and start its
    // 1 s retry wait before the second request is sent.
    await sleep(50);
    assert.deepEqual(await kube.request({ path: "/lease" }), { path: "/lease" });
    assert.deepEqual(await flaky, { path: "/flaky" });
    assert.deepEqual(
      order,
      ["/flaky", "/lease", "/flaky"],
      "the lease went out during the retry wait",
    );
  });
});
