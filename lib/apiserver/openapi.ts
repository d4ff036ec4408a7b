// OpenAPI v3 documents, just enough for kubectl: it checks PATCH operations for `fieldValidation`
// support (then validates server-side) and reads CRD schemas for `kubectl explain`.
import type { ResourceInfo, ResourceRegistry } from "./resources.ts";

function hash(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).toUpperCase().padStart(16, "0");
}

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

/** The OpenAPI v3 index (`/openapi/v3`) and per-group-version documents. */
export function openApiV3(registry: ResourceRegistry, path: string): unknown | undefined {
  const byGv = new Map<string, ResourceInfo[]>();
  for (const info of registry.all()) {
    const key = gvPath(info.group, info.version);
    if (!byGv.has(key)) byGv.set(key, []);
    byGv.get(key)!.push(info);
  }
  if (path === "") {
    const paths: Record<string, unknown> = {};
    for (const [key, infos] of byGv) {
      paths[key] = {
        serverRelativeURL: `/openapi/v3/${key}?hash=${hash(JSON.stringify(document(infos)))}`,
      };
    }
    return { paths };
  }
  const infos = byGv.get(path);
  return infos ? document(infos) : undefined;
}
