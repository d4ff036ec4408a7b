// OpenAPI v3 documents, just enough for kubectl: it checks PATCH operations for `fieldValidation`
// support (then validates server-side) and reads CRD schemas for `kubectl explain`.
import { fnv1a64 } from "../../lib/hash.ts";
import type { ResourceInfo, ResourceRegistry } from "../storage/resources.ts";

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function schemaName(info: ResourceInfo): string {
  const reversed = info.group ? info.group.split(".").reverse().join(".") : "io.k8s.api.core";
  return `${reversed}.${info.version}.${info.kind}`;
}

const QUERY_PARAMS = ["dryRun", "fieldManager", "fieldValidation", "force"].map((name) => ({
  name,
  in: "query",
  schema: { type: name === "force" ? "boolean" : "string", uniqueItems: true },
}));

function operations(info: ResourceInfo): Record<string, unknown> {
  const gvk = { group: info.group, version: info.version, kind: info.kind };
  const ref = { $ref: `#/components/schemas/${schemaName(info)}` };
  const ok = { "200": { description: "OK", content: { "application/json": { schema: ref } } } };
  const item = {
    get: { operationId: `read${info.kind}`, "x-kubernetes-group-version-kind": gvk, responses: ok },
    put: {
      operationId: `replace${info.kind}`,
      "x-kubernetes-group-version-kind": gvk,
      parameters: QUERY_PARAMS,
      responses: ok,
    },
    patch: {
      operationId: `patch${info.kind}`,
      "x-kubernetes-group-version-kind": gvk,
      parameters: QUERY_PARAMS,
      responses: ok,
    },
    delete: {
      operationId: `delete${info.kind}`,
      "x-kubernetes-group-version-kind": gvk,
      responses: ok,
    },
  };
  const collection = {
    get: { operationId: `list${info.kind}`, "x-kubernetes-group-version-kind": gvk, responses: ok },
    post: {
      operationId: `create${info.kind}`,
      "x-kubernetes-group-version-kind": gvk,
      parameters: QUERY_PARAMS,
      responses: ok,
    },
  };
  const base = `/${gvPath(info.group, info.version)}${
    info.namespaced ? "/namespaces/{namespace}" : ""
  }/${info.resource}`;
  return { [base]: collection, [`${base}/{name}`]: item };
}

function document(infos: ResourceInfo[]): unknown {
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const info of infos) {
    Object.assign(paths, operations(info));
    schemas[schemaName(info)] = {
      ...(info.schema ?? { type: "object", "x-kubernetes-preserve-unknown-fields": true }),
      "x-kubernetes-group-version-kind": [{
        group: info.group,
        version: info.version,
        kind: info.kind,
      }],
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    components: { schemas },
  };
}

/** The documents of one registry state: the index and one document per group-version path. */
interface Documents {
  index: unknown;
  byGv: Map<string, unknown>;
}

/** Built documents per registry, dropped whenever the registry's resources change. */
const cache = new WeakMap<ResourceRegistry, Documents>();
const watched = new WeakSet<ResourceRegistry>();

function build(registry: ResourceRegistry): Documents {
  const infosByGv = new Map<string, ResourceInfo[]>();
  for (const info of registry.all()) {
    const key = gvPath(info.group, info.version);
    const infos = infosByGv.get(key);
    if (infos) infos.push(info);
    else infosByGv.set(key, [info]);
  }
  const byGv = new Map<string, unknown>();
  const paths: Record<string, unknown> = {};
  for (const [key, infos] of infosByGv) {
    const doc = document(infos);
    byGv.set(key, doc);
    const hash = fnv1a64(JSON.stringify(doc)).toUpperCase();
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { index: { paths }, byGv };
}

/**
 * The OpenAPI v3 index (`path` "") or the document of one group-version path (`api/v1`,
 * `apis/<group>/<version>`); undefined for an unknown path. Documents are built once per
 * change of the served resources.
 */
export function openApiV3(registry: ResourceRegistry, path: string): unknown | undefined {
  if (!watched.has(registry)) {
    watched.add(registry);
    registry.onChange(() => cache.delete(registry));
  }
  let documents = cache.get(registry);
  if (!documents) cache.set(registry, documents = build(registry));
  return path === "" ? documents.index : documents.byGv.get(path);
}
