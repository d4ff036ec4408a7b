// Reads a response body through one reused buffer. Read with a default reader, a fetch body hands
// out a fresh 64 KiB buffer at every read, however few bytes came, and the engine frees those only
// at its next collection: a watch's small events then cost 64 KiB of garbage each, which holds
// memory long after a start-up and costs several times the CPU of reading into one buffer.

/** Size of the buffer a byte stream is read into. */
export const CHUNK_BYTES = 64 * 1024;

/**
 * Yields the bytes of `body` as they arrive. With a byte stream (a fetch body) every read goes
 * into the same buffer, so a yielded view holds its bytes only until the next step; other streams
 * are read as they come. Ending the iteration early (break, return, a throw) cancels the body, and
 * so does `signal` (the iteration then throws its reason).
 */
export async function* readChunks(
  body: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream: read it as it comes.
  }
  const reader = byob ?? body.getReader();
  const cancel = () => reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  let buffer = new ArrayBuffer(byob ? CHUNK_BYTES : 0);
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { done, value } = byob
        ? await byob.read(new Uint8Array(buffer))
        : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
      signal?.throwIfAborted();
      if (done) return;
      if (byob) buffer = value.buffer as ArrayBuffer;
      yield value;
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
    await cancel();
  }
}
