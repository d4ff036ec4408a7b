// Naming the object of a watch line that cannot be taken, from its first bytes only.
import assert from "node:assert/strict";
import { nameObject, parseWatchStream } from "../../../lib/client/watch_stream.ts";
import { WatchStreamError } from "../../../lib/client/mod.ts";

Deno.test("the kind, namespace and name of a line are read from its head; forged text is not", () => {
  const line = JSON.stringify({
    type: "MODIFIED",
    object: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "big", namespace: "team-a" },
      data: { x: "y".repeat(10_000) },
    },
  });
  assert.equal(nameObject(line), "ConfigMap team-a/big");
  assert.equal(nameObject(line.slice(0, line.length / 3)), "ConfigMap team-a/big");
  assert.equal(
    nameObject('{"type":"ADDED","object":{"metadata":{"name":"a\\nFAKE log"}}}'),
    undefined,
  );
  assert.equal(nameObject("garbage"), undefined);
});

Deno.test("an oversize line errors the stream with reason oversize and the object's name", async () => {
  const line = JSON.stringify({
    type: "ADDED",
    object: { kind: "Tenant", metadata: { name: "huge" }, spec: { pad: "x".repeat(5000) } },
  }) + "\n";
  const body = new Response(line).body!;
  const reader = parseWatchStream(body, { maxLineBytes: 1000 }).getReader();
  await assert.rejects(reader.read(), (error: unknown) => {
    assert.ok(error instanceof WatchStreamError);
    assert.equal(error.reason, "oversize");
    assert.equal(error.object, "Tenant huge");
    return true;
  });
});
