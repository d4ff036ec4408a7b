// Maps a request path and method to a resource, namespace, name, subresource and verb.
import type { ResourceInfo, ResourceRegistry } from "../storage/resources.ts";
import { queryBoolean } from "./params.ts";
import { methodNotAllowed, PageNotFoundError, unknownPath } from "./status.ts";
import type { Verb } from "../types.ts";

/** A request for a Kubernetes resource. */
export interface ResourceRoute {
  info: ResourceInfo;
  /** "" for cluster-scoped resources and for lists across all namespaces. */
  namespace: string;
  name?: string;
  subresource?: string;
  verb: Verb;
  /** What counters and faults match: "plural" or "plural/subresource". */
  label: string;
  /** The request's query parameters. */
  params: URLSearchParams;
}

/** Options of {@linkcode routeResource}. */
export interface RouteOptions {
  /** The request's query parameters (`watch`). */
  params: URLSearchParams;
  /** The resources served. */
  registry: ResourceRegistry;
}

/**
 * Parses `/api/v1/...` and `/apis/<group>/<version>/...` paths requested with the HTTP `method`;
 * throws 404/405 Status errors.
 */
export function routeResource(
  path: string,
  method: string,
  options: RouteOptions,
): ResourceRoute {
  const { params, registry } = options;
  const parts = path.split("/").filter((p) => p.length > 0).map(decodeSegment);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api") {
    [group, version, rest] = ["", parts[1], parts.slice(2)];
  } else {
    [group, version, rest] = [parts[1], parts[2], parts.slice(3)];
  }
  let watchPath = false;
  if (rest[0] === "watch") {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace = "";
  let info: ResourceInfo | undefined;
  let tail: string[];
  if (
    rest[0] === "namespaces" && rest.length >= 3 &&
    registry.lookup(group, version, rest[2])?.namespaced
  ) {
    namespace = rest[1];
    info = registry.lookup(group, version, rest[2]);
    tail = rest.slice(3);
  } else {
    info = rest.length > 0 ? registry.lookup(group, version, rest[0]) : undefined;
    tail = rest.slice(1);
    if (info?.namespaced && tail.length > 0) throw unknownPath();
  }
  if (!info && !registry.servesGroupVersion(group, version)) throw new PageNotFoundError();
  if (!info || tail.length > 2) throw unknownPath();
  const [name, subresource] = tail;
  if (subresource !== undefined) {
    const allowed = subresource === "status"
      ? info.statusSubresource
      : subresource === "finalize" && info.resource === "namespaces" && info.group === "";
    if (!allowed) throw unknownPath();
  }
  const verb = verbOf(method, name !== undefined, watchPath || queryBoolean(params, "watch"));
  const permitted = subresource !== undefined
    ? ["get", "update", "patch"].includes(verb)
    : info.verbs.includes(verb) &&
      !(verb === "deletecollection" && info.namespaced && namespace === "");
  if (!permitted) throw methodNotAllowed(NOT_ALLOWED);
  const label = subresource ? `${info.resource}/${subresource}` : info.resource;
  return { info, namespace, name, subresource, verb, label, params };
}

const NOT_ALLOWED = "the server does not allow this method on the requested resource";

/** One path segment, %-escapes decoded; a malformed escape is an unknown path (404). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw unknownPath();
  }
}

function verbOf(method: string, named: boolean, watch: boolean): Verb {
  switch (method) {
    case "GET":
      return watch ? "watch" : named ? "get" : "list";
    case "POST":
      if (!named) return "create";
      break;
    case "PUT":
      if (named) return "update";
      break;
    case "PATCH":
      if (named) return "patch";
      break;
    case "DELETE":
      return named ? "delete" : "deletecollection";
  }
  throw methodNotAllowed(NOT_ALLOWED);
}
