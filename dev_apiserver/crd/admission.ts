// Kind-specific preparation and validation of objects before they are stored (defaults, schemas).
import { validateCrd } from "./crds.ts";
import { isObject } from "../storage/objects.ts";
import { CRDS, NAMESPACES, type ResourceInfo, resourceKey } from "../storage/resources.ts";
import { pruneAndDefault, validate } from "./schema.ts";
import { badRequest, type StatusCause } from "../http/status.ts";
import type { KubeObject } from "../types.ts";
import { bindingProblems, POLICIES, POLICY_BINDINGS, policyProblems } from "../admission/policy.ts";

/** What a write is doing, for admission decisions. */
export interface WriteContext {
  info: ResourceInfo;
  operation: "create" | "update";
  subresource?: string;
  options: { fieldValidation?: "Strict" | "Warn" | "Ignore"; warnings?: string[] };
}

/** The object to store and the validation problems found. */
export interface Admitted {
  object: KubeObject;
  causes: StatusCause[];
}

const encoder = new TextEncoder();

/** Applies defaults, pruning and validation for the object's kind. */
export function admit(
  object: KubeObject,
  old: KubeObject | undefined,
  context: WriteContext,
): Admitted {
  const key = resourceKey(context.info);
  const causes: StatusCause[] = [];
  if (key === NAMESPACES) {
    const metadata = object.metadata!;
    metadata.labels = { ...metadata.labels, "kubernetes.io/metadata.name": metadata.name! };
    if (context.operation === "create") {
      const spec = (object.spec ?? {}) as { finalizers?: string[] };
      const finalizers = spec.finalizers ?? [];
      if (!finalizers.includes("kubernetes")) finalizers.push("kubernetes");
      object.spec = { ...spec, finalizers };
      object.status = { phase: "Active" };
    }
  } else if (key === "/secrets") {
    const stringData = object.stringData as Record<string, string> | undefined;
    if (stringData && typeof stringData === "object") {
      const data = { ...(object.data as Record<string, string> | undefined) };
      for (const [k, v] of Object.entries(stringData)) {
        data[k] = encoder.encode(String(v)).toBase64();
      }
      object.data = data;
    }
    delete object.stringData;
    if (!object.type) object.type = "Opaque";
    causes.push(...sizeLimit(object, "data"));
  } else if (key === "/configmaps") {
    causes.push(...sizeLimit(object, ""));
  } else if (key === "networking.k8s.io/networkpolicies") {
    defaultNetworkPolicy(object);
  } else if (key === "/resourcequotas") {
    // kube's ResourceQuota status is a struct, written even when empty.
    if (!isObject(object.status)) object.status = {};
  } else if (key === CRDS) {
    causes.push(...validateCrd(object));
  } else if (key === POLICIES) {
    causes.push(...policyProblems(object));
  } else if (key === POLICY_BINDINGS) {
    causes.push(...bindingProblems(object));
  }
  if (context.info.schema) {
    return admitCustom(object, old, context, causes);
  }
  return { object, causes };
}

/** kube's limit on the data of a ConfigMap or Secret (`MaxSecretSize`). */
const MAX_DATA_BYTES = 1024 * 1024;

/** The 422 cause kube gives a ConfigMap or Secret whose values exceed 1 MiB in all. */
function sizeLimit(object: KubeObject, field: string): StatusCause[] {
  let total = 0;
  const decoded = (value: unknown) => {
    try {
      return Uint8Array.fromBase64(String(value)).length;
    } catch {
      return String(value).length;
    }
  };
  for (const value of Object.values(isObject(object.data) ? object.data : {})) {
    total += field === "data" ? decoded(value) : encoder.encode(String(value)).length;
  }
  for (const value of Object.values(isObject(object.binaryData) ? object.binaryData : {})) {
    total += decoded(value);
  }
  if (total <= MAX_DATA_BYTES) return [];
  const message = `Too long: must have at most ${MAX_DATA_BYTES} bytes`;
  return [{ reason: "FieldValueTooLong", message, field: field || "[]" }];
}

/** kube's defaults of a NetworkPolicy: policyTypes from the rules present, TCP ports. */
function defaultNetworkPolicy(object: KubeObject): void {
  if (!isObject(object.spec)) return;
  const spec = object.spec;
  for (const direction of ["ingress", "egress"]) {
    const rules = Array.isArray(spec[direction]) ? spec[direction] : [];
    for (const rule of rules) {
      for (const port of isObject(rule) && Array.isArray(rule.ports) ? rule.ports : []) {
        if (isObject(port) && port.protocol === undefined) port.protocol = "TCP";
      }
    }
  }
  const types = spec.policyTypes;
  if (Array.isArray(types) && types.length > 0) return;
  const egress = Array.isArray(spec.egress) && spec.egress.length > 0;
  spec.policyTypes = egress ? ["Ingress", "Egress"] : ["Ingress"];
}

function admitCustom(
  object: KubeObject,
  old: KubeObject | undefined,
  context: WriteContext,
  causes: StatusCause[],
): Admitted {
  const schema = context.info.schema!;
  if (context.operation === "create" && context.info.statusSubresource) delete object.status;
  const { apiVersion, kind, metadata, ...rest } = object;
  const pruned = pruneAndDefault(schema, rest) as Record<string, unknown>;
  const unknown = unknownFields(rest, pruned, "");
  if (unknown.length > 0 && context.options.fieldValidation !== "Ignore") {
    const texts = unknown.map((path) => `unknown field ${JSON.stringify(path)}`);
    if (context.options.fieldValidation === "Strict") {
      throw badRequest(
        `${kind} in version "${context.info.version}" cannot be handled as a ${kind}: strict decoding error: ${
          texts.join(", ")
        }`,
      );
    }
    context.options.warnings?.push(...texts);
  }
  const result: KubeObject = { apiVersion, kind, metadata, ...pruned };
  const errors = validate(schema, result, old ? { oldValue: old } : undefined);
  for (const error of errors) {
    causes.push({ reason: error.reason, message: error.message, field: error.field });
  }
  return { object: result, causes };
}

function unknownFields(input: unknown, pruned: unknown, path: string): string[] {
  if (Array.isArray(input) && Array.isArray(pruned)) {
    return input.flatMap((item, i) => unknownFields(item, pruned[i], `${path}[${i}]`));
  }
  if (!isObject(input) || !isObject(pruned)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(input)) {
    const child = path ? `${path}.${k}` : k;
    if (!(k in pruned)) out.push(child);
    else out.push(...unknownFields(v, pruned[k], child));
  }
  return out;
}
