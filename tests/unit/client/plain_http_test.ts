// A client never sends credentials quietly where they can be read: a bearer token or password over
// plain http to another machine is logged as a warning, and a server address that carries
// credentials itself is refused without showing them.
import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { type AuthConfig, KubeClient } from "../../../lib/client/mod.ts";

async function warningsFor(server: string, auth: AuthConfig): Promise<string[]> {
  const records: LogRecord[] = [];
  await configure({
    sinks: { memory: (record: LogRecord) => void records.push(record) },
    loggers: [
      { category: ["kleff"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    new KubeClient({
      server,
      namespace: "default",
      insecureSkipTlsVerify: false,
      auth,
      source: { kind: "kubeconfig", files: [], context: "c" },
    }).close();
  } finally {
    await reset();
  }
  return records.filter((record) => record.level === "warning").map((record) =>
    record.message.map((part) => String(part)).join("")
  );
}

Deno.test("a bearer token or password over plain http to another host is warned about", async () => {
  const token: AuthConfig = { kind: "token", token: "t0ken-secret" };
  const warnings = await warningsFor("http://10.0.0.1:8080", token);
  assert.deepEqual(warnings, [
    "http://10.0.0.1:8080: a bearer token will be sent over plain http, readable by anyone on the network path; use https",
  ]);
  assert.match(
    (await warningsFor("http://api.internal", { kind: "basic", username: "u", password: "p" }))[0],
    /a password will be sent over plain http/,
  );
  assert.equal(
    (await warningsFor("http://k.example", { kind: "tokenFile", path: "/t" })).length,
    1,
  );
  for (const server of ["http://127.0.0.1:8001", "http://localhost:8001", "http://[::1]:8001"]) {
    assert.deepEqual(await warningsFor(server, token), [], server);
  }
  assert.deepEqual(await warningsFor("https://10.0.0.1:6443", token), []);
  assert.deepEqual(await warningsFor("http://10.0.0.1:8080", { kind: "none" }), []);
});

Deno.test("a server address carrying credentials is refused without showing them", () => {
  assert.throws(
    () =>
      new KubeClient({
        server: "https://alice:t0ken-secret@k.example",
        namespace: "default",
        insecureSkipTlsVerify: false,
        auth: { kind: "none" },
        source: { kind: "kubeconfig", files: [], context: "c" },
      }),
    (error: Error) => {
      assert.match(error.message, /https:\/\/xxxxx@k\.example carries credentials/);
      assert.doesNotMatch(error.message, /t0ken-secret|alice/);
      return true;
    },
  );
});
