// Applies the three PATCH flavours kube-apiserver accepts (JSON merge, JSON patch, strategic
// merge) to plain JSON values, never mutating the inputs and failing with kube's codes.
import { deepEqual, isObject } from "./objects.ts";

/** A patch that cannot be applied: `code` is the HTTP status kube-apiserver answers (400/422). */
export class PatchError extends Error {
  /** HTTP status: 400 for a malformed patch, 422 for one that does not apply. */
  readonly code: number;
  /** What exactly went wrong, for logs (kube drops it from 422 JSON patch answers). */
  readonly detail: string;

  /** Builds the error from its status, the client-facing message and the detail. */
  constructor(code: number, message: string, detail: string = message) {
    super(message);
    this.name = "PatchError";
    this.code = code;
    this.detail = detail;
  }
}

type JsonObject = Record<string, unknown>;

/** Sets a key as an own data property (safe for keys such as `__proto__`). */
function setKey(target: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

function copyObject(source: JsonObject): JsonObject {
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(source)) setKey(result, key, value);
  return result;
}

function mergeValue(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result = isObject(target) ? copyObject(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else {
      setKey(result, key, mergeValue(result[key], value));
    }
  }
  return result;
}

/**
 * Applies a JSON merge patch (RFC 7386, `application/merge-patch+json`): objects merge
 * recursively, `null` deletes a key, anything else (arrays included) replaces.
 * A patch that is not a JSON object is rejected with 400 like kube-apiserver.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) throw new PatchError(400, "Invalid JSON Patch");
  return mergeValue(structuredClone(target), patch);
}

const JSON_PATCH_REJECTED = "the server rejected our request due to an error in our request";

function jsonPatchFailure(detail: string): PatchError {
  return new PatchError(422, JSON_PATCH_REJECTED, detail);
}

function parsePointer(pointer: unknown, op: string, name = "path"): string[] {
  if (typeof pointer !== "string") {
    throw jsonPatchFailure(`${op} operation failed to decode ${name}: missing value`);
  }
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) {
    throw jsonPatchFailure(`${op} operation: invalid JSON pointer ${JSON.stringify(pointer)}`);
  }
  return pointer.slice(1).split("/").map((token) =>
    token.replaceAll("~1", "/").replaceAll("~0", "~")
  );
}

/** Resolves an array index token; `allowEnd` admits `-` and `length` (for add). */
function arrayIndex(array: unknown[], token: string, allowEnd: boolean): number | undefined {
  if (allowEnd && token === "-") return array.length;
  if (!/^-?(0|[1-9][0-9]*)$/.test(token)) return undefined;
  let index = Number(token);
  if (index < 0) {
    if (index < -array.length) return undefined;
    index += array.length;
  }
  const limit = allowEnd ? array.length : array.length - 1;
  return index <= limit ? index : undefined;
}

/** The value at a pointer, `undefined` when the document has none there. */
function valueAt(root: JsonObject, tokens: string[]): unknown {
  let node: unknown = root[""];
  for (const token of tokens) {
    if (Array.isArray(node)) {
      const index = arrayIndex(node, token, false);
      node = index === undefined ? undefined : node[index];
    } else if (isObject(node) && Object.hasOwn(node, token)) {
      node = node[token];
    } else {
      return undefined;
    }
  }
  return node;
}

/** The container holding the pointer's last token, walking from a `{"": doc}` root. */
function parentOf(root: JsonObject, tokens: string[], op: string, path: string): unknown {
  const node = valueAt(root, tokens.slice(0, -1));
  if (!Array.isArray(node) && !isObject(node)) {
    throw jsonPatchFailure(`${op} operation does not apply: doc is missing path: "${path}"`);
  }
  return node;
}

function readAt(root: JsonObject, tokens: string[], op: string, path: string): unknown {
  const value = valueAt(root, tokens);
  if (value === undefined) {
    throw jsonPatchFailure(`${op} operation does not apply: doc is missing path: "${path}"`);
  }
  return value;
}

function addAt(root: JsonObject, tokens: string[], value: unknown, path: string): void {
  if (tokens.length === 0) {
    root[""] = value;
    return;
  }
  const parent = parentOf(root, tokens, "add", path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, last, true);
    if (index === undefined) {
      throw jsonPatchFailure(`add operation does not apply: invalid index ${last} in "${path}"`);
    }
    parent.splice(index, 0, value);
  } else {
    setKey(parent as JsonObject, last, value);
  }
}

function removeAt(root: JsonObject, tokens: string[], op: string, path: string): unknown {
  if (tokens.length === 0) {
    throw jsonPatchFailure(`${op} operation does not apply: cannot remove the whole document`);
  }
  const parent = parentOf(root, tokens, op, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, last, false);
    if (index !== undefined) return parent.splice(index, 1)[0];
  } else if (isObject(parent) && Object.hasOwn(parent, last)) {
    const value = parent[last];
    delete parent[last];
    return value;
  }
  throw jsonPatchFailure(`${op} operation does not apply: doc is missing path: "${path}"`);
}

/**
 * Applies a JSON patch (RFC 6902, `application/json-patch+json`): add, remove, replace,
 * move, copy and test, with `~0`/`~1` pointer escapes, `-` for the end of an array and
 * negative indices (as kube's json-patch library allows). A body that is not an array of
 * operations is a 400; an operation that does not apply (including a failed `test`) is a 422
 * with kube's message; {@linkcode PatchError.detail} says which operation failed.
 */
export function applyJsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations) || !operations.every(isObject)) {
    const found = Array.isArray(operations) ? "array element" : typeOfJson(operations);
    throw new PatchError(
      400,
      `json: cannot unmarshal ${found} into Go value of type jsonpatch.Patch`,
    );
  }
  const root: JsonObject = { "": structuredClone(target) };
  for (const operation of operations as JsonObject[]) {
    const op = operation.op;
    const path = operation.path;
    switch (op) {
      case "add":
      case "replace": {
        if (!Object.hasOwn(operation, "value")) {
          throw jsonPatchFailure(`${op} operation failed to decode value: missing value`);
        }
        const tokens = parsePointer(path, op);
        if (op === "replace" && tokens.length > 0) removeAt(root, tokens, op, path as string);
        addAt(root, tokens, structuredClone(operation.value), path as string);
        break;
      }
      case "remove":
        removeAt(root, parsePointer(path, op), op, path as string);
        break;
      case "move":
      case "copy": {
        const from = operation.from;
        const fromTokens = parsePointer(from, op, "from");
        const tokens = parsePointer(path, op);
        if (op === "move" && (path as string).startsWith(`${from}/`)) {
          throw jsonPatchFailure(`move operation: cannot move ${from} into its own child`);
        }
        const value = op === "move"
          ? removeAt(root, fromTokens, op, from as string)
          : structuredClone(readAt(root, fromTokens, op, from as string));
        addAt(root, tokens, value, path as string);
        break;
      }
      case "test": {
        const actual = valueAt(root, parsePointer(path, op));
        const expected = operation.value ?? null;
        if (!(actual === undefined ? expected === null : deepEqual(actual, expected))) {
          throw jsonPatchFailure(`testing value ${path} failed: test failed`);
        }
        break;
      }
      default:
        throw jsonPatchFailure(`Unexpected kind: ${typeof op === "string" ? op : "unknown"}`);
    }
  }
  return root[""];
}

function typeOfJson(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  return typeof value === "object" ? "object" : typeof value;
}

/**
 * Merge keys of core Kubernetes list fields (their `patchMergeKey`), by field name or
 * `parent.field` when the name alone is ambiguous; `""` marks a list of primitives merged
 * as a set (`patchStrategy: merge` without key). Lists not named here are replaced.
 */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  env: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  imagePullSecrets: "name",
  "containers.ports": "containerPort",
  "initContainers.ports": "containerPort",
  "ephemeralContainers.ports": "containerPort",
  "spec.ports": "port",
  hostAliases: "ip",
  topologySpreadConstraints: "topologyKey",
  conditions: "type",
  ownerReferences: "uid",
  "metadata.finalizers": "",
  secrets: "name",
  taints: "key",
  addresses: "type",
};

const PATCH = "$patch";
const RETAIN_KEYS = "$retainKeys";
const DELETE_FROM = "$deleteFromPrimitiveList/";
const SET_ORDER = "$setElementOrder/";

class StrategicMerger {
  #mergeKey(parent: string, field: string): string | undefined {
    const name = [`${parent}.${field}`, field].find((n) => Object.hasOwn(MERGE_KEYS, n));
    return name === undefined ? undefined : MERGE_KEYS[name];
  }

  map(original: JsonObject, patch: JsonObject, name: string): JsonObject {
    const directive = patch[PATCH];
    if (directive !== undefined) {
      if (directive === "replace") return stripDirectives(patch) as JsonObject;
      if (directive === "delete") return {};
      if (directive !== "merge") {
        throw new PatchError(
          400,
          `unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(patch)}`,
        );
      }
    }
    const result = copyObject(original);
    const orders = new Map<string, unknown[]>();
    for (const [key, value] of Object.entries(patch)) {
      if (key.startsWith(DELETE_FROM)) {
        const field = key.slice(DELETE_FROM.length);
        if (!Array.isArray(value)) {
          throw new PatchError(400, "invalid patch format of primitive list");
        }
        const current = result[field];
        if (Array.isArray(current)) {
          setKey(result, field, current.filter((item) => !value.some((v) => deepEqual(v, item))));
        }
      } else if (key.startsWith(SET_ORDER)) {
        if (!Array.isArray(value)) {
          throw new PatchError(400, "invalid patch format of setElementOrder list");
        }
        orders.set(key.slice(SET_ORDER.length), value);
      }
    }
    for (const [key, value] of Object.entries(patch)) {
      if (key.startsWith("$")) continue;
      if (value === null) {
        delete result[key];
        continue;
      }
      const current = result[key];
      if (isObject(value)) {
        if (value[PATCH] === "delete") {
          delete result[key];
        } else {
          setKey(result, key, this.map(isObject(current) ? current : {}, value, key));
        }
      } else if (Array.isArray(value)) {
        setKey(result, key, this.list(Array.isArray(current) ? current : [], value, name, key));
      } else {
        setKey(result, key, structuredClone(value));
      }
    }
    for (const [field, order] of orders) {
      const list = result[field];
      if (Array.isArray(list)) {
        setKey(result, field, applyOrder(list, order, this.#mergeKey(name, field)));
      }
    }
    const retain = patch[RETAIN_KEYS];
    if (retain !== undefined) {
      if (!Array.isArray(retain) || !retain.every((key) => typeof key === "string")) {
        throw new PatchError(400, "invalid patch format of retainKeys");
      }
      for (const key of Object.keys(patch)) {
        if (!key.startsWith("$") && !retain.includes(key)) {
          throw new PatchError(422, "patch content doesn't match retainKeys list");
        }
      }
      for (const key of Object.keys(result)) {
        if (!retain.includes(key)) delete result[key];
      }
    }
    return result;
  }

  list(original: unknown[], patch: unknown[], parent: string, field: string): unknown[] {
    if (patch.some((item) => isObject(item) && item[PATCH] === "replace")) {
      return patch
        .filter((item) => !(isObject(item) && item[PATCH] === "replace"))
        .map(stripDirectives);
    }
    const mergeKey = this.#mergeKey(parent, field);
    if (mergeKey === undefined) return patch.map(stripDirectives);
    if (patch.some(Array.isArray)) {
      throw new PatchError(422, "lists of lists are not supported");
    }
    if (mergeKey === "") {
      const result = [...original];
      for (const item of patch) {
        if (!result.some((existing) => deepEqual(existing, item))) {
          result.push(structuredClone(item));
        }
      }
      return kubeOrder(result, patch, original, (item) => item);
    }
    const result = [...original];
    for (const item of patch) {
      if (!isObject(item)) return patch.map(stripDirectives);
      if (!Object.hasOwn(item, mergeKey)) {
        throw new PatchError(
          422,
          `map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`,
        );
      }
      const index = result.findIndex((existing) =>
        isObject(existing) && deepEqual(existing[mergeKey], item[mergeKey])
      );
      if (item[PATCH] === "delete") {
        if (index >= 0) {
          const key = item[mergeKey];
          for (let i = result.length - 1; i >= 0; i--) {
            const existing = result[i];
            if (isObject(existing) && deepEqual(existing[mergeKey], key)) result.splice(i, 1);
          }
        }
      } else if (index >= 0) {
        result[index] = this.map(result[index] as JsonObject, item, field);
      } else {
        result.push(this.map({}, item, field));
      }
    }
    return kubeOrder(result, patch, original, (item) => isObject(item) ? item[mergeKey] : item);
  }
}

/**
 * Orders a merged list as kube's strategic merge does (`normalizeElementOrder`): the items the
 * patch names in the patch's order, the others in their original order, interleaved so that
 * an item goes before a patch item only when the original list had it first.
 */
function kubeOrder(
  merged: unknown[],
  patch: unknown[],
  original: unknown[],
  identity: (item: unknown) => unknown,
): unknown[] {
  const position = (list: unknown[], item: unknown) =>
    list.findIndex((other) => deepEqual(identity(other), identity(item)));
  const named = merged.filter((item) => position(patch, item) >= 0)
    .sort((a, b) => position(patch, a) - position(patch, b));
  const others = merged.filter((item) => position(patch, item) < 0);
  const result: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < others.length || j < named.length) {
    if (j >= named.length) result.push(others[i++]);
    else if (i >= others.length) result.push(named[j++]);
    else {
      const left = position(original, others[i]);
      const right = position(original, named[j]);
      if (left >= 0 && right >= 0 && left < right) result.push(others[i++]);
      else result.push(named[j++]);
    }
  }
  return result;
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  const result: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    if (!key.startsWith("$")) setKey(result, key, stripDirectives(item));
  }
  return result;
}

/** Orders a merged list as `$setElementOrder` says; elements it does not name keep their order at the end. */
function applyOrder(list: unknown[], order: unknown[], mergeKey: string | undefined): unknown[] {
  const identity = (item: unknown): unknown => mergeKey && isObject(item) ? item[mergeKey] : item;
  const wanted = order.map(identity);
  const ranked = list.map((item, position) => {
    const rank = wanted.findIndex((key) => deepEqual(key, identity(item)));
    return { item, rank: rank < 0 ? wanted.length + position : rank };
  });
  return ranked.sort((a, b) => a.rank - b.rank).map((entry) => entry.item);
}

/**
 * Applies a strategic merge patch (`application/strategic-merge-patch+json`) as kube-apiserver
 * does for built-in kinds: maps merge, `null` deletes, lists named in
 * kube's core types with a `patchMergeKey` (containers by name, ...) merge by key, other
 * lists are replaced; directives `$patch: replace|delete|merge`, `$retainKeys`,
 * `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>` are honoured.
 */
export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) throw new PatchError(400, "invalid JSON document");
  const merger = new StrategicMerger();
  const original = isObject(target) ? structuredClone(target) : {};
  return merger.map(original, patch, "");
}
