// PATCH bodies: JSON merge, JSON and strategic merge patches (functions of the live object), and
// server-side apply configurations (`application/apply-patch+yaml`, YAML or JSON).
import { parse as parseYaml } from "yaml";
import { targetOf } from "../storage/core.ts";
import { isObject } from "../storage/objects.ts";
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  PatchError,
} from "../storage/patch.ts";
import type { ResourceInfo } from "../storage/resources.ts";
import type { KubeObject } from "../types.ts";
import { mediaType, readText } from "./bodies.ts";
import { queryBoolean } from "./params.ts";
import { ApiError, badRequest, invalid } from "./status.ts";

/** A patch of the live object. */
export interface PatchFunction {
  kind: "patch";
  patch: (current: KubeObject) => KubeObject;
}

/** A server-side apply request. */
export interface ApplyRequest {
  kind: "apply";
  config: KubeObject;
  force: boolean;
}

const MERGE = "application/merge-patch+json";
const JSON_PATCH = "application/json-patch+json";
const STRATEGIC = "application/strategic-merge-patch+json";
const APPLY = "application/apply-patch+yaml";

const PATCH_OPTIONS = { group: "meta.k8s.io", resource: "PatchOptions", kind: "PatchOptions" };

/** Reads a PATCH request for `info`: a patch function, or an apply configuration. */
export async function readPatch(
  request: Request,
  info: ResourceInfo,
  params: URLSearchParams,
): Promise<PatchFunction | ApplyRequest> {
  const type = mediaType(request);
  const accepted = [JSON_PATCH, MERGE, APPLY, ...(info.crd ? [] : [STRATEGIC])];
  if (!accepted.includes(type)) {
    if (type !== STRATEGIC) {
      // kube's router refuses types no handler takes before its handler: go-restful's words.
      throw new ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type", {});
    }
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: ${
        accepted.join(", ")
      }`,
    );
  }
  const force = params.has("force");
  if (type === APPLY) {
    if (!params.get("fieldManager")) {
      throw invalid({ ...PATCH_OPTIONS, name: "" }, [{
        reason: "FieldValueRequired",
        field: "fieldManager",
        message: "Required value: is required for apply patch",
      }]);
    }
    return {
      kind: "apply",
      config: parseApply(await readText(request)),
      force: queryBoolean(params, "force"),
    };
  }
  if (force) {
    throw invalid({ ...PATCH_OPTIONS, name: "" }, [{
      reason: "FieldValueForbidden",
      field: "force",
      message: "Forbidden: may not be specified for non-apply patch",
    }]);
  }
  let patch: unknown;
  try {
    patch = JSON.parse(await readText(request));
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw badRequest(`error decoding patch: ${(error as Error).message}`);
  }
  return {
    kind: "patch",
    patch: (current) => {
      try {
        if (type === JSON_PATCH) return applyJsonPatch(current, patch) as KubeObject;
        if (type === MERGE) return applyMergePatch(current, patch) as KubeObject;
        return applyStrategicMergePatch(current, patch) as KubeObject;
      } catch (error) {
        if (error instanceof PatchError) throw patchFailure(error, info, current);
        throw error;
      }
    },
  };
}

/** The apply configuration: a YAML (or JSON) object. */
function parseApply(text: string): KubeObject {
  let value: unknown;
  try {
    value = parseYaml(text, { version: "1.1" });
  } catch (error) {
    throw badRequest(`error decoding YAML: ${(error as Error).message}`);
  }
  if (!isObject(value)) {
    const found = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
    throw badRequest(
      `error decoding YAML: json: cannot unmarshal ${found} into Go value of type map[string]interface {}`,
    );
  }
  return value as KubeObject;
}

function patchFailure(error: PatchError, info: ResourceInfo, current: KubeObject): ApiError {
  return new ApiError(error.code, error.code === 422 ? "Invalid" : "BadRequest", error.message, {
    ...targetOf(info, current.metadata?.name),
    kind: info.kind,
    // kube reports which JSON patch operation failed as an UnexpectedServerResponse cause
    ...(error.detail !== error.message
      ? { causes: [{ reason: "UnexpectedServerResponse", message: error.detail }] }
      : {}),
  });
}
