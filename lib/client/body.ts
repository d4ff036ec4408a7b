// Reads response bodies under a size limit, so that no answer of a server, hostile or broken, can
// grow the process past its memory limit: reading stops at the limit and the body is cancelled.
import { readChunks } from "./chunks.ts";
import { ResponseLimitError } from "./errors.ts";

/**
 * The largest response body read whole, 32 MiB: kube-apiserver refuses request bodies over 3 MiB
 * and etcd stores objects of at most 1.5 MiB, so this holds a page of 20 objects of the largest
 * size (3 if every character of them is one JSON escapes in six bytes), or about 30,000 typical
 * metadata-only objects.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** The part of an error answer kept (a `Status` is a few hundred bytes): the rest is dropped. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** A body as text, and how many bytes it had. */
export interface BodyText {
  /** The body decoded as UTF-8. */
  text: string;
  /** Its size in bytes. */
  bytes: number;
}

/**
 * Reads `response`'s body as UTF-8 text. Past `maxBytes` (announced by `Content-Length` or
 * found while reading) it cancels the body and throws a {@linkcode ResponseLimitError} naming
 * `context`, or with `truncate` returns the first `maxBytes` bytes.
 */
export async function readBodyText(
  response: Response,
  options: { maxBytes: number; context: string; truncate?: boolean },
): Promise<BodyText> {
  const { maxBytes, context, truncate } = options;
  const tooLarge = (bytes: string) =>
    new ResponseLimitError(
      `${context}: the answer is larger than ${formatBytes(maxBytes)} (${bytes}); not read`,
    );
  const announced = Number(response.headers.get("content-length") ?? NaN);
  if (!truncate && announced > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(`Content-Length ${formatBytes(announced)}`);
  }
  if (!response.body) return { text: "", bytes: 0 };
  const encoding = response.headers.get("content-encoding");
  if (announced <= maxBytes && (encoding === null || encoding === "identity")) {
    // The announced length bounds the body (HTTP framing ends it there) and nothing expands it:
    // read it whole, which costs a fraction of the CPU of reading it chunk by chunk.
    const body = new Uint8Array(await response.arrayBuffer());
    return { text: new TextDecoder().decode(body), bytes: body.length };
  }
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  // Each chunk is decoded as it comes: its buffer is reused for the next read.
  for await (const chunk of readChunks(response.body)) {
    if (bytes + chunk.length > maxBytes) {
      if (!truncate) throw tooLarge("more was coming");
      text += decoder.decode(chunk.subarray(0, maxBytes - bytes), { stream: true });
      bytes = maxBytes;
      break;
    }
    text += decoder.decode(chunk, { stream: true });
    bytes += chunk.length;
  }
  return { text: text + decoder.decode(), bytes };
}

/** `32 MiB`, `1.5 KiB`, `12 B`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KiB`;
  return `${bytes} B`;
}
