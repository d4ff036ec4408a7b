// Request bodies: read within kube's size limit, then decoded as an object (JSON or protobuf)
// or as DeleteOptions.
import type { DeleteOptions } from "../storage/core.ts";
import { clone } from "../storage/objects.ts";
import type { ResourceInfo } from "../storage/resources.ts";
import type { KubeObject } from "../types.ts";
import { decodeProtobufObject } from "./protobuf.ts";
import { ApiError, badRequest } from "./status.ts";

/** kube-apiserver's `--max-request-body-bytes` default: 3 MiB. */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

const decoder = new TextDecoder();

/**
 * The whole request body; 413 RequestEntityTooLarge past {@linkcode MAX_REQUEST_BODY_BYTES}, and
 * kube's 500 when it cannot be read (the client went away mid-upload).
 */
export async function readBody(request: Request): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const announced = Number(request.headers.get("content-length") ?? NaN);
  if (announced <= MAX_REQUEST_BODY_BYTES) {
    // The announced length bounds the body: read it whole, which costs a fraction of the CPU of
    // reading it chunk by chunk.
    try {
      return new Uint8Array(await request.arrayBuffer());
    } catch (error) {
      throw new ApiError(500, "InternalError", `Internal error occurred: ${String(error)}`);
    }
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_REQUEST_BODY_BYTES) {
        await reader.cancel().catch(() => {});
        throw new ApiError(
          413,
          "RequestEntityTooLarge",
          `Request entity too large: limit is ${MAX_REQUEST_BODY_BYTES}`,
        );
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(500, "InternalError", `Internal error occurred: ${String(error)}`);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** The body as text (UTF-8), within the size limit. */
export async function readText(request: Request): Promise<string> {
  return decoder.decode(await readBody(request));
}

/** The media type of the request body, lower-cased, without parameters. */
export function mediaType(request: Request, fallback = ""): string {
  return (request.headers.get("content-type") ?? fallback).split(";")[0].trim().toLowerCase();
}

/** The object of a create or update of `info`: JSON, or protobuf as typed kubectl commands send it. */
export async function readObject(request: Request, info: ResourceInfo): Promise<KubeObject> {
  const type = mediaType(request, "application/json");
  if (
    type !== "application/json" && type !== "*/*" && type !== "application/vnd.kubernetes.protobuf"
  ) {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
    );
  }
  const body = await readBody(request);
  if (type === "application/vnd.kubernetes.protobuf") return decodeProtobufObject(body);
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch (error) {
    throw badRequest(
      `${unrecognized(info)}couldn't get version/kind; json parse error: ${
        (error as Error).message
      }`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest(
      `${
        unrecognized(info)
      }couldn't get version/kind; json parse error: the body is not a JSON object`,
    );
  }
  return value as KubeObject;
}

/** How kube-apiserver begins the message about a body it cannot decode. */
function unrecognized(info: ResourceInfo): string {
  return `the object provided is unrecognized (must be of type ${info.kind}): `;
}

/** DELETE's options, from the body (a `DeleteOptions` object) or else the query. */
export async function readDeleteOptions(
  request: Request,
  params: URLSearchParams,
): Promise<DeleteOptions> {
  const text = await readText(request);
  let body: Record<string, unknown> = {};
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw badRequest(`couldn't decode DeleteOptions: ${(error as Error).message}`);
    }
    if (typeof body !== "object" || body === null) {
      throw badRequest("DeleteOptions must be a JSON object");
    }
  }
  const dryRun = Array.isArray(body.dryRun)
    ? body.dryRun.includes("All")
    : params.getAll("dryRun").includes("All");
  const propagationPolicy = (body.propagationPolicy as string | undefined) ??
    params.get("propagationPolicy") ??
    undefined;
  if (propagationPolicy && !["Orphan", "Background", "Foreground"].includes(propagationPolicy)) {
    throw badRequest(`propagationPolicy: Unsupported value: "${propagationPolicy}"`);
  }
  return {
    dryRun,
    propagationPolicy,
    preconditions: clone(body.preconditions as DeleteOptions["preconditions"]) ?? undefined,
  };
}
