// Non-resource URLs: discovery documents, OpenAPI and health checks.
import {
  aggregatedDiscoveryList,
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
  VERSION_INFO,
} from "../discovery/discovery.ts";
import { openApiV3 } from "../discovery/openapi.ts";
import { aggregatedDiscovery } from "./negotiation.ts";
import type { ResourceRegistry } from "../storage/resources.ts";
import { methodNotAllowed, unknownPath } from "./status.ts";

function json(value: unknown, contentType = "application/json"): Response {
  return new Response(JSON.stringify(value), { headers: { "content-type": contentType } });
}

/** The health check paths, answered `ok` to anyone (even without credentials). */
export const HEALTH_PATHS: readonly string[] = ["/healthz", "/livez", "/readyz"];

/** Options of {@linkcode handleNonResource}. */
export interface NonResourceOptions {
  /** The resources served (discovery, OpenAPI). */
  registry: ResourceRegistry;
  /** The server's address as clients reach it (APIVersions' serverAddressByClientCIDRs). */
  serverAddress: string;
}

/** Answers a GET of a non-resource URL (path given as its segments, `parts`). */
export function handleNonResource(
  request: Request,
  parts: string[],
  options: NonResourceOptions,
): Response {
  const { registry, serverAddress } = options;
  const path = "/" + parts.join("/");
  if (HEALTH_PATHS.includes(path)) {
    return new Response("ok", { headers: { "content-type": "text/plain; charset=utf-8" } });
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    throw methodNotAllowed("the server does not allow this method on the requested resource");
  }
  if (path === "/version") return json(VERSION_INFO);
  if (parts[0] === "openapi" && parts[1] === "v3") {
    const doc = openApiV3(registry, parts.slice(2).join("/"));
    if (doc === undefined) throw unknownPath();
    return json(doc);
  }
  if (path === "/api" || path === "/apis") {
    const aggregated = aggregatedDiscovery(request.headers.get("accept"));
    if (aggregated) {
      return json(
        aggregatedDiscoveryList(registry, path === "/api", aggregated),
        `application/json;g=apidiscovery.k8s.io;v=${aggregated};as=APIGroupDiscoveryList`,
      );
    }
    return json(path === "/api" ? apiVersions(serverAddress) : apiGroupList(registry));
  }
  let doc: unknown;
  if (parts[0] === "api" && parts.length === 2) doc = apiResourceList(registry, "", parts[1]);
  if (parts[0] === "apis" && parts.length === 2) doc = apiGroupDoc(registry, parts[1]);
  if (parts[0] === "apis" && parts.length === 3) {
    doc = apiResourceList(registry, parts[1], parts[2]);
  }
  if (doc === undefined) throw unknownPath();
  return json(doc);
}
