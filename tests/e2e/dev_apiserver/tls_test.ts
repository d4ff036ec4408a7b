// The HTTPS listener: client-certificate identities, request/response pass-through,
// streaming, disconnects and shutdown, checked with Deno's fetch and kubectl.
import assert from "node:assert/strict";
import { createCertificateAuthority } from "../../../lib/pki/mod.ts";
import {
  type PeerIdentity,
  serveTls,
  type TlsHandler,
  type TlsListener,
  TlsListenerError,
} from "../../../dev_apiserver/http/tls_listener.ts";
import { onPath } from "../../support/fs.ts";
import { within } from "../../support/wait.ts";

const ca = await createCertificateAuthority({ commonName: "kleff-test-ca" });
const server = await ca.issue({
  commonName: "kleff-test-server",
  dnsNames: ["localhost"],
  ipAddresses: ["127.0.0.1"],
  usage: "server",
});
const alice = await ca.issue({
  commonName: "alice",
  organizations: ["devs", "system:masters"],
  usage: "client",
});

/** Starts a listener, runs `fn` with a client built from `client`, then closes both. */
async function withListener(
  options: { handler: TlsHandler; clientCa?: boolean; client?: { cert: string; key: string } },
  fn: (url: string, httpClient: Deno.HttpClient, listener: TlsListener) => Promise<void>,
): Promise<void> {
  const listener = await serveTls(options.handler, {
    hostname: "127.0.0.1",
    port: 0,
    certPem: server.certPem,
    keyPem: server.keyPem,
    clientCaPem: options.clientCa === false ? undefined : ca.certPem,
  });
  const httpClient = Deno.createHttpClient({ caCerts: [ca.certPem], ...options.client });
  try {
    await fn(`https://127.0.0.1:${listener.port}`, httpClient, listener);
  } finally {
    httpClient.close();
    await listener.shutdown();
  }
}

const echoPeer: TlsHandler = (_request, peer) => Response.json(peer ?? null);

async function peerSeen(client: { cert: string; key: string } | undefined, clientCa = true) {
  let seen: PeerIdentity | null = null;
  await withListener({ handler: echoPeer, client, clientCa }, async (url, httpClient) => {
    seen = await (await fetch(`${url}/whoami`, { client: httpClient })).json();
  });
  return seen;
}

Deno.test("a client certificate signed by the client CA yields the peer identity", async () => {
  assert.deepEqual(await peerSeen({ cert: alice.certPem, key: alice.keyPem }), {
    commonName: "alice",
    organizations: ["devs", "system:masters"],
  });
  const bob = await ca.issue({ commonName: "bob", organizations: ["devs"], usage: "client" });
  assert.deepEqual(await peerSeen({ cert: bob.certPem, key: bob.keyPem }), {
    commonName: "bob",
    organizations: ["devs"],
  });
  const carol = await ca.issue({ commonName: "carol", usage: "client" });
  assert.deepEqual(await peerSeen({ cert: carol.certPem, key: carol.keyPem }), {
    commonName: "carol",
    organizations: [],
  });
});

Deno.test("no client certificate, or one that does not verify, yields no peer", async () => {
  assert.equal(await peerSeen(undefined), null);
  // Same CA name, different key: the issuer name matches but the signature does not.
  const forger = await createCertificateAuthority({ commonName: "kleff-test-ca" });
  const mallory = await forger.issue({
    commonName: "mallory",
    organizations: ["system:masters"],
    usage: "client",
  });
  assert.equal(await peerSeen({ cert: mallory.certPem, key: mallory.keyPem }), null);
  // Signed by the right CA but only for server use.
  assert.equal(await peerSeen({ cert: server.certPem, key: server.keyPem }), null);
  // A valid certificate whose key the client does not hold fails the handshake.
  await assert.rejects(peerSeen({ cert: alice.certPem, key: mallory.keyPem }));
});

Deno.test("without clientCaPem a client certificate is ignored", async () => {
  assert.equal(await peerSeen({ cert: alice.certPem, key: alice.keyPem }, false), null);
});

Deno.test("method, URL, headers and body pass through both ways", async () => {
  const handler: TlsHandler = async (request) => {
    const url = new URL(request.url);
    const headers = new Headers({ "x-method": request.method, "content-type": "application/json" });
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    return new Response(
      JSON.stringify({
        path: url.pathname,
        query: url.searchParams.get("labelSelector"),
        auth: request.headers.get("authorization"),
        contentType: request.headers.get("content-type"),
        body: request.body ? await request.text() : null,
      }),
      { status: 201, statusText: "Created", headers },
    );
  };
  await withListener({ handler }, async (url, httpClient) => {
    const body = JSON.stringify({ kind: "Tenant", data: "x".repeat(100_000) });
    const response = await fetch(`${url}/apis/kleff.io/v1/tenants?labelSelector=a%3Db`, {
      client: httpClient,
      method: "PATCH",
      headers: { authorization: "Bearer t0k3n", "content-type": "application/merge-patch+json" },
      body,
    });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get("x-method"), "PATCH");
    assert.deepEqual(response.headers.getSetCookie(), ["a=1", "b=2"]);
    assert.deepEqual(await response.json(), {
      path: "/apis/kleff.io/v1/tenants",
      query: "a=b",
      auth: "Bearer t0k3n",
      contentType: "application/merge-patch+json",
      body,
    });

    const streamed = await fetch(`${url}/upload`, {
      client: httpClient,
      method: "POST",
      body: ReadableStream.from(
        ["chunk-1;", "chunk-2"].map((text) => new TextEncoder().encode(text)),
      ),
    });
    assert.equal((await streamed.json()).body, "chunk-1;chunk-2");

    const get = await fetch(`${url}/api/v1/namespaces`, { client: httpClient });
    assert.equal((await get.json()).body, null);

    const head = await fetch(`${url}/api`, { client: httpClient, method: "HEAD" });
    assert.equal(head.status, 201);
    assert.equal(await head.text(), "");
  });
});

Deno.test("a handler that throws gets a 500 and the listener keeps serving", async () => {
  const handler: TlsHandler = (request) => {
    if (new URL(request.url).pathname === "/boom") throw new Error("boom");
    return new Response("fine");
  };
  await withListener({ handler }, async (url, httpClient) => {
    const failed = await fetch(`${url}/boom`, { client: httpClient });
    assert.equal(failed.status, 500);
    await failed.body?.cancel();
    assert.equal(await (await fetch(`${url}/ok`, { client: httpClient })).text(), "fine");
  });
});

/** A watch-like handler: one line now, more only when the test asks; records disconnects. */
function streamingHandler() {
  const encoder = new TextEncoder();
  let push: (line: string) => void = () => {};
  const state = {
    /** The request's signal, once a request came in. */
    signal: undefined as AbortSignal | undefined,
    /** Whether the response body was cancelled. */
    cancelled: false,
    /** Settles once the request's signal aborted. */
    aborted: Promise.withResolvers<void>(),
    /** Settles once the response body was cancelled. */
    bodyCancelled: Promise.withResolvers<void>(),
    push: (line: string) => push(line),
  };
  const handler: TlsHandler = (request) => {
    state.signal = request.signal;
    request.signal.addEventListener("abort", () => state.aborted.resolve());
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (line) => controller.enqueue(encoder.encode(line + "\n"));
        push('{"type":"ADDED"}');
      },
      cancel() {
        state.cancelled = true;
        state.bodyCancelled.resolve();
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  };
  /** Waits (bounded) until the listener has seen the client go: signal aborted, body cancelled. */
  const disconnected = async () => {
    await within(state.aborted.promise, "the request signal aborts");
    await within(state.bodyCancelled.promise, "the response body is cancelled");
    assert.equal(state.signal?.aborted, true);
    assert.equal(state.cancelled, true);
  };
  return { handler, state, disconnected };
}

Deno.test("streaming responses are flushed chunk by chunk", async () => {
  const { handler, state, disconnected } = streamingHandler();
  await withListener({ handler }, async (url, httpClient) => {
    const response = await fetch(`${url}/watch`, { client: httpClient });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value, '{"type":"ADDED"}\n');
    state.push('{"type":"MODIFIED"}');
    assert.equal((await reader.read()).value, '{"type":"MODIFIED"}\n');
    assert.equal(state.signal?.aborted, false, "the request is live while the client reads");
    assert.equal(state.cancelled, false);
    await reader.cancel();
    await disconnected();
  });
});

Deno.test("a client disconnect aborts the request signal and cancels the body", async () => {
  const { handler, state, disconnected } = streamingHandler();
  await withListener({ handler }, async (url, httpClient) => {
    const controller = new AbortController();
    const response = await fetch(`${url}/watch`, { client: httpClient, signal: controller.signal });
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), '{"type":"ADDED"}\n');
    assert.equal(state.signal?.aborted, false, "connected: the request signal is not aborted");
    assert.equal(state.cancelled, false, "connected: the body is not cancelled");
    controller.abort();
    await assert.rejects(reader.read(), (error: Error) => error.name === "AbortError");
    await disconnected();
  });
});

Deno.test("shutdown ends open streaming responses", async () => {
  const { handler, disconnected } = streamingHandler();
  await withListener({ handler }, async (url, httpClient, listener) => {
    const response = await fetch(`${url}/watch`, { client: httpClient });
    const reader = response.body!.getReader();
    await reader.read();
    await listener.shutdown();
    await within(listener.finished, "the listener finishes");
    await disconnected();
    await assert.rejects(async () => {
      while (!(await reader.read()).done);
    });
  });
});

Deno.test("aborting the signal option shuts the listener down", async () => {
  const controller = new AbortController();
  const listener = await serveTls(() => new Response("ok"), {
    hostname: "127.0.0.1",
    port: 0,
    certPem: server.certPem,
    keyPem: server.keyPem,
    signal: controller.signal,
  });
  controller.abort();
  await listener.finished;
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: listener.port }));
});

Deno.test("a port in use or broken PEM gives TlsListenerError", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      serveTls(() => new Response(), {
        hostname: "127.0.0.1",
        port: blocker.addr.port,
        certPem: server.certPem,
        keyPem: server.keyPem,
      }),
      TlsListenerError,
    );
  } finally {
    blocker.close();
  }
  const broken = [
    { keyPem: "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n" },
    { keyPem: alice.keyPem },
    { certPem: "not a certificate" },
    { clientCaPem: "-----BEGIN CERTIFICATE-----\nbm90\n-----END CERTIFICATE-----\n" },
  ];
  for (const credentials of broken) {
    await assert.rejects(
      serveTls(() => new Response(), {
        hostname: "127.0.0.1",
        port: 0,
        certPem: server.certPem,
        keyPem: server.keyPem,
        ...credentials,
      }),
      TlsListenerError,
      JSON.stringify(credentials),
    );
  }
});

Deno.test({
  name: "kubectl authenticates with client-certificate-data",
  ignore: !onPath("kubectl"),
  async fn() {
    const seen: (PeerIdentity | undefined)[] = [];
    const handler: TlsHandler = (request, peer) => {
      seen.push(peer);
      return new URL(request.url).pathname === "/version"
        ? Response.json({ major: "1", minor: "32", gitVersion: peer?.commonName ?? "anonymous" })
        : new Response("not found", { status: 404 });
    };
    await withListener({ handler }, async (url) => {
      const dir = await Deno.makeTempDir({ prefix: "kleff-tls-" });
      try {
        const kubeconfig = {
          apiVersion: "v1",
          kind: "Config",
          clusters: [{
            name: "dev",
            cluster: { server: url, "certificate-authority-data": btoa(ca.certPem) },
          }],
          users: [{
            name: "dev",
            user: {
              "client-certificate-data": btoa(alice.certPem),
              "client-key-data": btoa(alice.keyPem),
            },
          }],
          contexts: [{ name: "dev", context: { cluster: "dev", user: "dev" } }],
          "current-context": "dev",
        };
        await Deno.writeTextFile(`${dir}/kubeconfig`, JSON.stringify(kubeconfig));
        const output = await new Deno.Command("kubectl", {
          args: [
            "--kubeconfig",
            `${dir}/kubeconfig`,
            "--cache-dir",
            `${dir}/cache`,
            "--request-timeout=10s",
            "get",
            "--raw",
            "/version",
          ],
          stdin: "null",
        }).output();
        const stderr = new TextDecoder().decode(output.stderr);
        assert.equal(output.code, 0, stderr);
        assert.equal(JSON.parse(new TextDecoder().decode(output.stdout)).gitVersion, "alice");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
    assert.ok(seen.length > 0);
    for (const peer of seen) {
      assert.deepEqual(peer, { commonName: "alice", organizations: ["devs", "system:masters"] });
    }
  },
});
