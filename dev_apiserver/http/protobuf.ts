// Decodes the protobuf request bodies kubectl sends for typed built-ins (`kubectl create namespace`,
// `create configmap|secret|serviceaccount`), for the fields those commands set.
import { ApiError, badRequest } from "./status.ts";
import type { KubeObject } from "../types.ts";

type Field = { number: number; wire: number; value: bigint | Uint8Array };

const decoder = new TextDecoder();

function fields(bytes: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    while (true) {
      if (pos >= bytes.length) throw badRequest("protobuf body is truncated");
      const byte = bytes[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < bytes.length) {
    const key = Number(varint());
    const wire = key & 7;
    const number = key >> 3;
    if (wire === 0) out.push({ number, wire, value: varint() });
    else if (wire === 2) {
      const length = Number(varint());
      if (pos + length > bytes.length) throw badRequest("protobuf body is truncated");
      out.push({ number, wire, value: bytes.subarray(pos, pos + length) });
      pos += length;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw badRequest(`protobuf body has an unsupported wire type ${wire}`);
  }
  return out;
}

function bytesOf(list: Field[], n: number): Uint8Array | undefined {
  const f = list.find((x) => x.number === n && x.wire === 2);
  return f?.value as Uint8Array | undefined;
}

function stringOf(list: Field[], n: number): string | undefined {
  const b = bytesOf(list, n);
  return b === undefined ? undefined : decoder.decode(b);
}

function strings(list: Field[], n: number): string[] {
  return list.filter((x) => x.number === n && x.wire === 2).map((x) =>
    decoder.decode(x.value as Uint8Array)
  );
}

function boolOf(list: Field[], n: number): boolean | undefined {
  const f = list.find((x) => x.number === n && x.wire === 0);
  return f === undefined ? undefined : f.value !== 0n;
}

function map(list: Field[], n: number, asBytes = false): Record<string, string> | undefined {
  const entries = list.filter((x) => x.number === n && x.wire === 2);
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const kv = fields(entry.value as Uint8Array);
    const value = bytesOf(kv, 2) ?? new Uint8Array();
    out[stringOf(kv, 1) ?? ""] = asBytes ? value.toBase64() : decoder.decode(value);
  }
  return out;
}

function metadata(bytes: Uint8Array | undefined): Record<string, unknown> {
  const m = fields(bytes ?? new Uint8Array());
  const out: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined && !(Array.isArray(value) && value.length === 0)) out[key] = value;
  };
  set("name", stringOf(m, 1));
  set("generateName", stringOf(m, 2));
  set("namespace", stringOf(m, 3));
  set("labels", map(m, 11));
  set("annotations", map(m, 12));
  set("finalizers", strings(m, 14));
  return out;
}

const DECODERS: Record<string, (f: Field[]) => Record<string, unknown>> = {
  Namespace: (f) => {
    const spec = fields(bytesOf(f, 2) ?? new Uint8Array());
    const finalizers = strings(spec, 1);
    return finalizers.length > 0 ? { spec: { finalizers } } : {};
  },
  ConfigMap: (f) => ({ data: map(f, 2), binaryData: map(f, 3, true), immutable: boolOf(f, 4) }),
  Secret: (f) => ({
    data: map(f, 2, true),
    type: stringOf(f, 3),
    stringData: map(f, 4),
    immutable: boolOf(f, 5),
  }),
  ServiceAccount: (f) => ({ automountServiceAccountToken: boolOf(f, 4) }),
};

/** Decodes a `application/vnd.kubernetes.protobuf` body of a supported built-in kind. */
export function decodeProtobufObject(body: Uint8Array): KubeObject {
  const magic = [0x6b, 0x38, 0x73, 0x00];
  if (body.length < 4 || magic.some((b, i) => body[i] !== b)) {
    throw badRequest("protobuf body does not start with the k8s magic prefix");
  }
  const unknown = fields(body.subarray(4));
  const typeMeta = fields(bytesOf(unknown, 1) ?? new Uint8Array());
  const apiVersion = stringOf(typeMeta, 1) ?? "";
  const kind = stringOf(typeMeta, 2) ?? "";
  const decode = DECODERS[kind];
  if (!decode || apiVersion !== "v1") {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `the dev API server decodes protobuf only for v1 ${Object.keys(DECODERS).join(", ")}; send ${
        kind || "this object"
      } as application/json`,
    );
  }
  const raw = fields(bytesOf(unknown, 2) ?? new Uint8Array());
  const rest = Object.fromEntries(Object.entries(decode(raw)).filter(([, v]) => v !== undefined));
  return { apiVersion, kind, metadata: metadata(bytesOf(raw, 1)), ...rest };
}
