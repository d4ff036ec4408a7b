// The watch stream parser: bytes split anywhere become events; garbage and oversized lines fail the stream clearly.
import assert from "node:assert/strict";
import {
  parseWatchStream,
  WatchStreamError,
  type WatchStreamEvent,
} from "../../../lib/client/mod.ts";

const encoder = new TextEncoder();

function bytes(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((c) => typeof c === "string" ? encoder.encode(c) : c));
}

async function collect(stream: ReadableStream<WatchStreamEvent>): Promise<WatchStreamEvent[]> {
  return await Array.fromAsync(stream);
}

const added = {
  type: "ADDED",
  object: { kind: "Namespace", metadata: { name: "ä-ns", resourceVersion: "5" } },
};
const bookmark = {
  type: "BOOKMARK",
  object: {
    kind: "Namespace",
    metadata: { resourceVersion: "9", annotations: { "k8s.io/initial-events-end": "true" } },
  },
};
const error = {
  type: "ERROR",
  object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" },
};

Deno.test("events split across chunks at every byte offset, multi-byte UTF-8 included, parse the same", async () => {
  const text = [added, bookmark, error].map((e) => JSON.stringify(e)).join("\n") + "\n";
  const all = encoder.encode(text);
  for (let cut = 1; cut < all.length; cut += 7) {
    const events = await collect(parseWatchStream(bytes(all.slice(0, cut), all.slice(cut))));
    assert.deepEqual(events, [added, bookmark, error]);
  }
  const oneByteChunks = await collect(
    parseWatchStream(bytes(...Array.from(all, (b) => new Uint8Array([b])))),
  );
  assert.deepEqual(oneByteChunks, [added, bookmark, error]);
});

Deno.test("BOOKMARK keeps its annotations, ERROR its Status; blank lines and a last line without newline are fine", async () => {
  const events = await collect(
    parseWatchStream(bytes(`\n${JSON.stringify(bookmark)}\n\r\n${JSON.stringify(error)}`)),
  );
  assert.equal(events.length, 2);
  assert.equal(events[0].type, "BOOKMARK");
  assert.equal(events[0].object.metadata?.annotations?.["k8s.io/initial-events-end"], "true");
  assert.deepEqual(events[1], error);
});

for (
  const [name, line, message] of [
    ["not JSON", "{not json secret-value", /line 2 is not JSON/],
    ["not an object", "[1,2]", /line 2 is not a JSON object/],
    ["unknown type", `{"type":"EXPLODED","object":{}}`, /unknown type "EXPLODED"/],
    ["no object", `{"type":"ADDED"}`, /\(ADDED\) has no object/],
  ] as const
) {
  Deno.test(`a malformed line (${name}) errors the stream after the good events, without quoting it`, async () => {
    const seen: WatchStreamEvent[] = [];
    const caught = await (async () => {
      for await (
        const event of parseWatchStream(bytes(JSON.stringify(added) + "\n", line + "\n"))
      ) seen.push(event);
    })().then(() => undefined, (e) => e);
    assert.deepEqual(seen, [added]);
    assert.ok(caught instanceof WatchStreamError);
    assert.match(caught.message, message);
    assert.ok(!caught.message.includes("secret-value"));
  });
}

Deno.test("an oversized line fails the stream whether or not its newline has arrived, and cancels the body", async () => {
  let cancelled = false;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(encoder.encode('{"type":"ADDED","object":{"data":"' + "x".repeat(1000)));
    },
    cancel() {
      cancelled = true;
    },
  });
  await assert.rejects(
    collect(parseWatchStream(endless, { maxLineBytes: 10_000 })),
    /longer than 10000 bytes/,
  );
  assert.ok(cancelled, "the body was cancelled");
  const complete = JSON.stringify({ type: "ADDED", object: { data: "y".repeat(5000) } }) + "\n";
  await assert.rejects(
    collect(parseWatchStream(bytes(complete), { maxLineBytes: 1000 })),
    WatchStreamError,
  );
  assert.equal(
    (await collect(parseWatchStream(bytes(complete), { maxLineBytes: 6000 }))).length,
    1,
  );
});

Deno.test("the default line cap takes etcd's largest object as kube-apiserver escapes it", async () => {
  // 1.5 MiB of `<`, which kube-apiserver's JSON writes as \u003c: six bytes each.
  const value = "<".repeat(1.5 * 1024 * 1024);
  const event = { type: "MODIFIED", object: { metadata: { name: "big" }, data: { k: value } } };
  const line = JSON.stringify(event).replaceAll("<", "\\u003c") + "\n";
  assert.ok(line.length > 9 * 1024 * 1024, `${line.length} bytes`);
  const [parsed] = await collect(parseWatchStream(bytes(line)));
  assert.equal(parsed.type, "MODIFIED");
  assert.equal((parsed.object as { data: { k: string } }).data.k, value);
});

Deno.test("cancelling the events while the body is silent cancels the body at once", async () => {
  let cancelled: unknown = "not cancelled";
  const body = new ReadableStream<Uint8Array>({
    type: "bytes",
    start(controller) {
      controller.enqueue(encoder.encode(JSON.stringify(added) + "\n"));
    },
    // Nothing more ever comes.
    pull: () => new Promise(() => {}),
    cancel(reason) {
      cancelled = reason;
    },
  });
  const reader = parseWatchStream(body).getReader();
  assert.deepEqual((await reader.read()).value, added);
  const waiting = reader.read();
  await reader.cancel("done watching");
  assert.equal(cancelled, "done watching");
  assert.equal((await waiting).done, true);
});
