// LIST requests as kube-apiserver serves them from etcd: every page of a paged list at the first
// page's resourceVersion, kube's continue tokens (and 410 with an inconsistent token once that
// version is compacted), remainingItemCount, and exact or not-older-than resourceVersions.
import type { ApiCore } from "../storage/core.ts";
import { groupVersion, resourceKey } from "../storage/resources.ts";
import { listAt } from "../storage/snapshot.ts";
import { objectKey, type StoredEntry } from "../storage/store.ts";
import { representation } from "./negotiation.ts";
import { JSON_HEADERS, listMeta, present, servedJson } from "./present.ts";
import type { ResourceRoute } from "./router.ts";
import { selectorTest } from "./selection.ts";
import { type ApiError, badRequest, expired, invalid, tooLargeResourceVersion } from "./status.ts";

const INCONSISTENT_CONTINUE =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";
const LIST_TOO_OLD = "The resourceVersion for the provided list is too old.";
const TOKEN_VERSION = "meta.k8s.io/v1";

/** A decoded continue token: the revision to list at (-1: the latest) and the key to start at. */
interface ContinueToken {
  rv: number;
  /** Key relative to the listed prefix (`name`, or `namespace/name` across namespaces). */
  start: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** kube's token: unpadded base64url of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`. */
function encodeContinue(token: ContinueToken): string {
  const json = JSON.stringify({ v: TOKEN_VERSION, rv: token.rv, start: token.start });
  return encoder.encode(json).toBase64({ alphabet: "base64url", omitPadding: true });
}

function invalidToken(why: string): ApiError {
  return badRequest(`invalid continue token: continue key is not valid: ${why}`);
}

function decodeContinue(text: string): ContinueToken {
  let parsed: { v?: unknown; rv?: unknown; start?: unknown };
  try {
    parsed = JSON.parse(decoder.decode(Uint8Array.fromBase64(text, { alphabet: "base64url" })));
  } catch (error) {
    throw invalidToken((error as Error).message);
  }
  if (parsed?.v !== TOKEN_VERSION) {
    throw invalidToken(
      `server does not recognize this encoded version ${JSON.stringify(String(parsed?.v ?? ""))}`,
    );
  }
  const { rv, start } = parsed;
  if (typeof rv !== "number" || !Number.isInteger(rv) || rv === 0) {
    throw invalidToken(`incorrect encoded start resourceVersion (version ${TOKEN_VERSION})`);
  }
  if (typeof start !== "string" || start === "") {
    throw invalidToken(`encoded start key empty (version ${TOKEN_VERSION})`);
  }
  const segments = start.split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) throw invalidToken(start);
  return { rv, start };
}

function parseLimit(text: string | null): number {
  if (text === null || text === "") return 0;
  if (!/^[+-]?\d+$/.test(text)) {
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  }
  return Math.max(0, Number(text));
}

function parseVersion(text: string): number {
  if (!/^\d+$/.test(text)) throw badRequest(`invalid resource version: ${JSON.stringify(text)}`);
  return Number(text);
}

const LIST_OPTIONS = {
  group: "meta.k8s.io",
  resource: "ListOptions",
  kind: "ListOptions",
  name: "",
};

/** The revision a list without a continue token reads: `exact` ones must come from history. */
function requestedVersion(
  params: URLSearchParams,
  limit: number,
): { rv?: number; exact: boolean } {
  const rvText = params.get("resourceVersion") ?? "";
  const match = params.get("resourceVersionMatch") ?? "";
  if (match !== "" && match !== "Exact" && match !== "NotOlderThan") {
    throw invalid(LIST_OPTIONS, [{
      reason: "FieldValueNotSupported",
      field: "resourceVersionMatch",
      message: `Unsupported value: ${
        JSON.stringify(match)
      }: supported values: "Exact", "NotOlderThan", ""`,
    }]);
  }
  if (match !== "" && rvText === "") {
    throw invalid(LIST_OPTIONS, [{
      reason: "FieldValueForbidden",
      field: "resourceVersionMatch",
      message: "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
    }]);
  }
  if (match === "Exact" && rvText === "0") {
    throw invalid(LIST_OPTIONS, [{
      reason: "FieldValueForbidden",
      field: "resourceVersionMatch",
      message: 'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
    }]);
  }
  if (rvText === "" || rvText === "0") return { exact: false };
  // A resourceVersion with a limit and no match is an exact list (kube's legacy rule).
  return { rv: parseVersion(rvText), exact: match === "Exact" || (match === "" && limit > 0) };
}

/** The entries to page through and the revision they are at. */
function source(
  core: ApiCore,
  route: ResourceRoute,
  limit: number,
): { entries: StoredEntry[]; rv: number; start: string } {
  const { info, namespace, params } = route;
  const key = resourceKey(info);
  const scope = info.namespaced && namespace ? namespace : undefined;
  const continueText = params.get("continue");
  if (continueText) {
    const token = decodeContinue(continueText);
    const rvText = params.get("resourceVersion") ?? "";
    if (rvText !== "" && rvText !== "0") {
      throw badRequest("specifying resource version is not allowed when using continue");
    }
    const rv = token.rv === -1 ? core.store.rv : token.rv;
    const entries = listAt(core.store, core.hub, { key, namespace: scope, rv });
    if (!entries) {
      const error = expired(INCONSISTENT_CONTINUE);
      error.metadata = { continue: encodeContinue({ rv: -1, start: token.start }) };
      throw error;
    }
    return { entries, rv, start: token.start };
  }
  const requested = requestedVersion(params, limit);
  const current = core.store.rv;
  if (requested.rv !== undefined && requested.rv > current) {
    throw tooLargeResourceVersion(requested.rv, current);
  }
  if (!requested.exact || requested.rv === undefined) {
    return { entries: core.store.list(key, scope), rv: current, start: "" };
  }
  const entries = listAt(core.store, core.hub, { key, namespace: scope, rv: requested.rv });
  if (!entries) throw expired(LIST_TOO_OLD);
  return { entries, rv: requested.rv, start: "" };
}

/** Answers a LIST request. */
export function list(core: ApiCore, route: ResourceRoute, request: Request): Response {
  const { info, namespace, params } = route;
  const as = representation(request.headers.get("accept"));
  const matches = selectorTest(info, params);
  const requestedLimit = parseLimit(params.get("limit"));
  // Like kube's watch cache, which serves `resourceVersion=0` lists whole.
  const cached = params.get("resourceVersion") === "0" && !params.get("continue");
  const limit = cached ? 0 : requestedLimit;
  const { entries, rv, start } = source(core, route, limit);
  const relative = (entry: StoredEntry) => {
    const key = objectKey(entry.object);
    return info.namespaced && namespace ? key.slice(namespace.length + 1) : key;
  };
  const items: StoredEntry[] = [];
  let next: string | undefined;
  let remaining: number | undefined;
  let index = start === "" ? 0 : entries.findIndex((entry) => relative(entry) >= start);
  if (index < 0) index = entries.length;
  for (; index < entries.length; index++) {
    if (limit > 0 && items.length >= limit) {
      next = encodeContinue({ rv, start: `${relative(items[items.length - 1])}\u0000` });
      // Like etcd's count of the keys left, only without selectors (with them it would mislead).
      if (!matches) remaining = entries.length - index;
      break;
    }
    const entry = entries[index];
    if (!matches || matches(entry.object)) items.push(entry);
  }
  const meta = { rv: String(rv), continue: next, remaining };
  if (as !== "object") {
    return new Response(
      JSON.stringify(present(items.map((e) => e.object), info, as, params, meta)),
      { headers: JSON_HEADERS },
    );
  }
  const head = JSON.stringify({
    kind: info.listKind,
    apiVersion: groupVersion(info),
    metadata: listMeta(meta),
  });
  const body = items.map((e) => servedJson(e, info)).join(",");
  return new Response(`${head.slice(0, -1)},"items":[${body}]}`, { headers: JSON_HEADERS });
}
