// readChunks: one reused buffer for byte streams, any stream read as it comes, and the body
// cancelled whenever the reading ends early.
import assert from "node:assert/strict";
import { CHUNK_BYTES, readChunks } from "../../../lib/client/chunks.ts";

const encoder = new TextEncoder();

/** A byte stream (as a fetch body is) of `parts`, noting whether it was cancelled. */
function byteStream(
  parts: string[],
): { stream: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let cancelled = false;
  let next = 0;
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (next === parts.length) {
        // As a fetch body does: a pending read into a buffer ends when the request is answered.
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      controller.enqueue(encoder.encode(parts[next++]));
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
}

Deno.test("a byte stream is read into one buffer: the next read takes back the view handed out", async () => {
  const parts = ["first chunk\n", "second", " chunk\n", "x".repeat(CHUNK_BYTES + 10)];
  const { stream } = byteStream(parts);
  const decoder = new TextDecoder();
  let text = "";
  let previous: Uint8Array | undefined;
  for await (const chunk of readChunks(stream)) {
    assert.equal(chunk.buffer.byteLength, CHUNK_BYTES);
    if (previous !== undefined) assert.equal(previous.byteLength, 0, "the old view is detached");
    text += decoder.decode(chunk, { stream: true });
    previous = chunk;
  }
  assert.equal(text + decoder.decode(), parts.join(""));
});

Deno.test("a stream that is not a byte stream is read as it comes", async () => {
  const parts = ["a", "bc", "def"].map((part) => encoder.encode(part));
  const stream = ReadableStream.from(parts);
  const seen: string[] = [];
  for await (const chunk of readChunks(stream)) seen.push(new TextDecoder().decode(chunk));
  assert.deepEqual(seen, ["a", "bc", "def"]);
});

Deno.test("leaving the loop early cancels the body", async () => {
  const { stream, cancelled } = byteStream(["one", "two", "three"]);
  for await (const chunk of readChunks(stream)) {
    assert.equal(new TextDecoder().decode(chunk), "one");
    break;
  }
  assert.equal(cancelled(), true);
});

Deno.test("an abort while waiting for bytes cancels the body and throws the abort's reason", async () => {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    type: "bytes",
    pull: () => new Promise(() => {}),
    cancel() {
      cancelled = true;
    },
  });
  const stop = new AbortController();
  const reason = new Error("stopped");
  const reading = (async () => {
    for await (const _ of readChunks(stream, stop.signal)) assert.fail("no bytes were sent");
  })();
  setTimeout(() => stop.abort(reason), 10);
  await assert.rejects(reading, (error) => error === reason);
  assert.equal(cancelled, true);
});
