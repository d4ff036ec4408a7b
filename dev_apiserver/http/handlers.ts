// The HTTP side of resource requests: bodies, query parameters, lists, watches and responses.
import { type ApiCore, type DeleteOptions, targetOf, type WriteOptions } from "../storage/core.ts";
import { type Representation, representation } from "./negotiation.ts";
import { clone } from "../storage/objects.ts";
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  PatchError,
} from "../storage/patch.ts";
import { groupVersion, type ResourceInfo, resourceKey } from "../storage/resources.ts";
import type { ResourceRoute } from "./router.ts";
import { isTrue } from "./router.ts";
import { decodeProtobufObject } from "./protobuf.ts";
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from "../storage/selectors.ts";
import { ApiError, badRequest, expired, invalid } from "./status.ts";
import type { StoredEntry } from "../storage/store.ts";
import { renderTable } from "../tables/table.ts";
import type { Identity, KubeObject } from "../types.ts";
import { log } from "../../lib/log.ts";

/** Server settings the handlers need. */
export interface HandlerSettings {
  bookmarkIntervalMs: number;
  expiredAsHttp410: boolean;
  watchList: boolean;
}

const JSON_HEADERS = { "content-type": "application/json" };

/** Options of {@linkcode handleResource}. */
export interface HandleResourceOptions {
  /** The API server's store and write paths. */
  core: ApiCore;
  /** Server settings. */
  settings: HandlerSettings;
  /** Who is asking (already authenticated and authorized). */
  identity: Identity;
}

/** Answers one resource request, `route` being what `routeResource` made of it. */
export async function handleResource(
  request: Request,
  route: ResourceRoute,
  { core, settings, identity }: HandleResourceOptions,
): Promise<Response> {
  log("apiserver").debug("{user} {verb} {resource}", {
    user: identity.username,
    verb: route.verb,
    resource: route.label,
  });
  const { info, namespace, name, params } = route;
  const warnings: string[] = [];
  const options: WriteOptions = {
    dryRun: params.getAll("dryRun").includes("All"),
    fieldValidation: fieldValidation(params.get("fieldValidation")),
    warnings,
  };
  const respond = (object: unknown, status = 200) => {
    const headers = new Headers(JSON_HEADERS);
    for (const w of warnings) headers.append("warning", `299 - ${JSON.stringify(w)}`);
    return new Response(JSON.stringify(object), { status, headers });
  };
  switch (route.verb) {
    case "get": {
      const as = representation(request.headers.get("accept"));
      const entry = core.get(info, namespace, name!);
      if (as === "object") return new Response(servedJson(entry, info), { headers: JSON_HEADERS });
      return respond(
        present([entry.object], info, as, params, { rv: String(entry.rv), single: true }),
      );
    }
    case "list":
      return list(core, route, request);
    case "watch":
      return watch(core, route, request, settings);
    case "create": {
      const body = await readObject(request, info);
      return respond(core.create(info, namespace, body, options), 201);
    }
    case "update": {
      const body = await readObject(request, info);
      return respond(
        core.update(info, namespace, name!, body, { ...options, subresource: route.subresource }),
      );
    }
    case "patch": {
      const patchFn = await readPatch(request, info);
      return respond(
        core.patch(info, namespace, name!, patchFn, { ...options, subresource: route.subresource }),
      );
    }
    case "delete": {
      const deleteOptions = await readDeleteOptions(request, params);
      return respond(core.delete(info, namespace, name!, { ...options, ...deleteOptions }));
    }
    case "deletecollection": {
      const deleteOptions = await readDeleteOptions(request, params);
      const matches = selectorTest(info, params);
      const items = core.store.list(
        resourceKey(info),
        info.namespaced && namespace ? namespace : undefined,
      )
        .filter((e) => !matches || matches(e.object))
        .map((e) => deleteOptions.dryRun ? e.object : core.deleteObject(info, e.object));
      return respond({
        apiVersion: groupVersion(info),
        kind: info.listKind,
        metadata: { resourceVersion: String(core.store.rv) },
        items,
      });
    }
  }
}

function fieldValidation(value: string | null): WriteOptions["fieldValidation"] {
  if (value === null || value === "") return "Warn";
  if (value === "Strict" || value === "Warn" || value === "Ignore") return value;
  throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${value}"`);
}

function servedJson(entry: StoredEntry, info: ResourceInfo): string {
  const apiVersion = groupVersion(info);
  return entry.object.apiVersion === apiVersion
    ? entry.json
    : JSON.stringify({ ...entry.object, apiVersion });
}

function present(
  objects: KubeObject[],
  info: ResourceInfo,
  as: Representation,
  params: URLSearchParams,
  meta: { rv: string; continue?: string; remaining?: number; single?: boolean },
): unknown {
  const apiVersion = groupVersion(info);
  const served = objects.map((o) => o.apiVersion === apiVersion ? o : { ...o, apiVersion });
  if (as === "table") {
    const includeObject = params.get("includeObject") as "None" | "Metadata" | "Object" | null;
    const table = renderTable(served, {
      kind: info.kind,
      group: info.group,
      printerColumns: info.printerColumns,
      includeObject: includeObject ?? "Metadata",
      resourceVersion: meta.rv,
      continue: meta.continue,
    });
    if (meta.remaining !== undefined) table.metadata.remainingItemCount = meta.remaining;
    return table;
  }
  const partial = (o: KubeObject) => ({
    kind: "PartialObjectMetadata",
    apiVersion: "meta.k8s.io/v1",
    metadata: o.metadata,
  });
  if (meta.single) return partial(served[0]);
  return {
    kind: "PartialObjectMetadataList",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta(meta),
    items: served.map(partial),
  };
}

function listMeta(
  meta: { rv: string; continue?: string; remaining?: number },
): Record<string, unknown> {
  const out: Record<string, unknown> = { resourceVersion: meta.rv };
  if (meta.continue) out.continue = meta.continue;
  if (meta.remaining !== undefined) out.remainingItemCount = meta.remaining;
  return out;
}

/** A test for the request's label and field selectors; undefined when there are none. */
function selectorTest(
  info: ResourceInfo,
  params: URLSearchParams,
): ((o: KubeObject) => boolean) | undefined {
  const labelText = params.get("labelSelector") ?? "";
  const fieldText = params.get("fieldSelector") ?? "";
  if (!labelText && !fieldText) return undefined;
  try {
    const labels = parseLabelSelector(labelText);
    const fields = parseFieldSelector(fieldText);
    const known = new Set(["metadata.name", "metadata.namespace"]);
    if (info.fields) { for (const k of Object.keys(info.fields({}))) known.add(k); }
    for (const r of fields.requirements) {
      if (known.has(r.field)) continue;
      // kube's wording differs between kinds with their own field labels and the others.
      throw badRequest(
        info.fields
          ? `field label not supported: ${r.field}`
          : `"${r.field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
      );
    }
    const needFields = fields.requirements.length > 0;
    return (o) => {
      if (!matchesLabels(labels, o.metadata?.labels)) return false;
      if (!needFields) return true;
      const values: Record<string, string> = {
        "metadata.name": o.metadata?.name ?? "",
        "metadata.namespace": o.metadata?.namespace ?? "",
        ...info.fields?.(o as Record<string, unknown>),
      };
      return matchesFields(fields, values);
    };
  } catch (error) {
    if (error instanceof SelectorError) throw badRequest(error.message);
    throw error;
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

interface ContinueToken {
  rv: number;
  start: string;
}

function decodeContinue(token: string): ContinueToken {
  try {
    const bytes = Uint8Array.fromBase64(token, { alphabet: "base64url" });
    const parsed = JSON.parse(textDecoder.decode(bytes));
    if (typeof parsed.rv === "number" && typeof parsed.start === "string") return parsed;
  } catch {
    // fall through to the error below
  }
  throw badRequest("invalid continue token: continue key is not valid: not a token of this server");
}

function encodeContinue(token: ContinueToken): string {
  return textEncoder.encode(JSON.stringify(token)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}

function keyOf(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
}

function list(core: ApiCore, route: ResourceRoute, request: Request): Response {
  const { info, namespace, params } = route;
  const as = representation(request.headers.get("accept"));
  const matches = selectorTest(info, params);
  const limitText = params.get("limit");
  const limit = limitText ? Number(limitText) : 0;
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit: ${limitText}`);
  const continueText = params.get("continue");
  let rv = core.store.rv;
  let start = "";
  if (continueText) {
    const token = decodeContinue(continueText);
    if (core.hub.tooOld(token.rv)) {
      throw expired(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
      );
    }
    rv = token.rv;
    start = token.start;
  }
  let entries = core.store.list(
    resourceKey(info),
    info.namespaced && namespace ? namespace : undefined,
  );
  if (start) entries = entries.filter((e) => keyOf(e.object) > start);
  if (matches) entries = entries.filter((e) => matches(e.object));
  let next: string | undefined;
  let remaining: number | undefined;
  if (limit > 0 && entries.length > limit) {
    remaining = entries.length - limit;
    entries = entries.slice(0, limit);
    next = encodeContinue({ rv, start: keyOf(entries[entries.length - 1].object) });
  }
  const meta = { rv: String(rv), continue: next, remaining };
  if (as !== "object") {
    return new Response(
      JSON.stringify(present(entries.map((e) => e.object), info, as, params, meta)),
      {
        headers: JSON_HEADERS,
      },
    );
  }
  const items = entries.map((e) => servedJson(e, info)).join(",");
  const head = JSON.stringify({
    kind: info.listKind,
    apiVersion: groupVersion(info),
    metadata: listMeta(meta),
  });
  return new Response(`${head.slice(0, -1)},"items":[${items}]}`, { headers: JSON_HEADERS });
}

function parseRv(text: string): number {
  if (!/^\d+$/.test(text)) throw badRequest(`invalid resource version: ${JSON.stringify(text)}`);
  return Number(text);
}

function watch(
  core: ApiCore,
  route: ResourceRoute,
  request: Request,
  settings: HandlerSettings,
): Response {
  const { info, namespace, params } = route;
  const as = representation(request.headers.get("accept"));
  const matches = selectorTest(info, params);
  const rvText = params.get("resourceVersion") ?? "";
  const bookmarks = isTrue(params.get("allowWatchBookmarks"));
  const sendInitial = params.get("sendInitialEvents");
  const timeoutText = params.get("timeoutSeconds");
  const requested = timeoutText ? Number(timeoutText) : 0;
  if (!Number.isFinite(requested) || requested < 0) {
    throw badRequest(`invalid timeoutSeconds: ${timeoutText}`);
  }
  // kube reads a missing or zero timeoutSeconds as "the server's default": 30 to 60 minutes.
  const timeoutSeconds = requested > 0 ? requested : 1800 + Math.floor(Math.random() * 1800);
  const listOptionsTarget = {
    group: "meta.k8s.io",
    resource: "ListOptions",
    kind: "ListOptions",
    name: "",
  };
  if (sendInitial !== null) {
    if (!settings.watchList) {
      throw invalid(listOptionsTarget, [{
        reason: "FieldValueForbidden",
        field: "sendInitialEvents",
        message:
          "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
      }]);
    }
    const causes = [];
    if (params.get("resourceVersionMatch") !== "NotOlderThan") {
      causes.push({
        reason: "FieldValueForbidden",
        field: "resourceVersionMatch",
        message:
          "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
      });
    }
    if (isTrue(sendInitial) && !bookmarks) {
      causes.push({
        reason: "FieldValueRequired",
        field: "allowWatchBookmarks",
        message: "Required value: sendInitialEvents requires setting allowWatchBookmarks to true",
      });
    }
    if (causes.length > 0) throw invalid(listOptionsTarget, causes);
  }
  const key = resourceKey(info);
  const scope = info.namespaced && namespace ? namespace : undefined;
  const current = () => core.store.list(key, scope).filter((e) => !matches || matches(e.object));
  let initial: StoredEntry[] | undefined;
  let sinceRv: number | undefined;
  let initialEventsEnd = false;
  if (isTrue(sendInitial)) {
    initial = current();
    initialEventsEnd = true;
    if (rvText !== "" && rvText !== "0") parseRv(rvText);
  } else if (rvText === "" || rvText === "0") {
    if (sendInitial === null) initial = current();
  } else {
    sinceRv = parseRv(rvText);
    if (core.hub.tooOld(sinceRv)) {
      const message = `too old resource version: ${sinceRv} (${core.hub.oldestResumableRv})`;
      if (settings.expiredAsHttp410) throw expired(message, "Gone");
      return new Response(core.hub.errorStream(expired(message).toStatus()), {
        headers: JSON_HEADERS,
      });
    }
  }
  const apiVersion = groupVersion(info);
  const render = as === "object"
    ? undefined
    : (object: KubeObject) =>
      present([object], info, as, params, {
        rv: object.metadata?.resourceVersion ?? "",
        single: true,
      });
  const body = core.hub.open({
    key,
    namespace: scope,
    matches,
    apiVersion,
    kind: info.kind,
    render,
    sinceRv,
    initial,
    initialEventsEnd,
    bookmarks,
    bookmarkIntervalMs: settings.bookmarkIntervalMs,
    timeoutMs: timeoutSeconds * 1000,
  });
  return new Response(body, { headers: { ...JSON_HEADERS, "cache-control": "no-cache, private" } });
}

async function readObject(request: Request, info: ResourceInfo): Promise<KubeObject> {
  const type = (request.headers.get("content-type") ?? "application/json").split(";")[0].trim()
    .toLowerCase();
  if (type === "application/vnd.kubernetes.protobuf") {
    return decodeProtobufObject(new Uint8Array(await request.arrayBuffer()));
  }
  if (type !== "application/json" && type !== "*/*") {
    await request.body?.cancel();
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
    );
  }
  const text = await request.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
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

const PATCH_TYPES =
  "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

async function readPatch(
  request: Request,
  info: ResourceInfo,
): Promise<(current: KubeObject) => KubeObject> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const strategicAllowed = !info.crd;
  const known = type === "application/merge-patch+json" || type === "application/json-patch+json" ||
    (type === "application/strategic-merge-patch+json" && strategicAllowed);
  if (!known) {
    await request.body?.cancel();
    if (type === "application/strategic-merge-patch+json") {
      throw new ApiError(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES}`,
      );
    }
    if (type !== "application/apply-patch+yaml") {
      // kube's router refuses other types before its handler: go-restful's words, empty details.
      throw new ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type", {});
    }
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      "server-side apply is not supported by the dev API server; use a merge or strategic merge patch",
    );
  }
  const text = await request.text();
  let patch: unknown;
  try {
    patch = JSON.parse(text);
  } catch (error) {
    throw badRequest(`error decoding patch: ${(error as Error).message}`);
  }
  return (current) => {
    try {
      if (type === "application/json-patch+json") {
        return applyJsonPatch(current, patch) as KubeObject;
      }
      if (type === "application/merge-patch+json") {
        return applyMergePatch(current, patch) as KubeObject;
      }
      return applyStrategicMergePatch(current, patch) as KubeObject;
    } catch (error) {
      if (error instanceof PatchError) {
        throw new ApiError(
          error.code,
          error.code === 422 ? "Invalid" : "BadRequest",
          error.message,
          {
            ...targetOf(info, current.metadata?.name),
            kind: info.kind,
            // kube reports which JSON patch operation failed as an UnexpectedServerResponse cause
            ...(error.detail !== error.message
              ? { causes: [{ reason: "UnexpectedServerResponse", message: error.detail }] }
              : {}),
          },
        );
      }
      throw error;
    }
  };
}

async function readDeleteOptions(
  request: Request,
  params: URLSearchParams,
): Promise<DeleteOptions> {
  const text = request.body ? await request.text() : "";
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
