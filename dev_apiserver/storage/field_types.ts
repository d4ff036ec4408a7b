// The shapes server-side apply needs to know (structured-merge-diff's schema): which objects are
// structs or maps, which lists are atomic, sets or keyed by fields, for the built-in kinds served.
// Custom resources get theirs from the CRD schema (crd/field_types.ts).

/** A scalar (or a value kept whole). */
export interface ScalarType {
  kind: "scalar";
}

/** An object: a struct with declared `fields`, or a map whose keys hold `elements`. */
export interface MapType {
  kind: "map";
  /** Declared fields (a struct). */
  fields?: Record<string, FieldType>;
  /** The type of keys that are not declared fields (a map, like labels). */
  elements?: FieldType;
  /** `x-kubernetes-map-type: atomic` / `+structType=atomic`: owned and replaced whole. */
  atomic?: boolean;
}

/** A list: `atomic` (owned and replaced whole), a `set` of scalars, or a `map` keyed by `keys`. */
export interface ListType {
  kind: "list";
  list: "atomic" | "set" | "map";
  items: FieldType;
  /** Key fields of a `map` list. */
  keys?: string[];
}

/**
 * A value whose shape is read from the value itself: objects are granular, lists atomic. With
 * `keys: "elements"` it is structured-merge-diff's "deduced" type (preserve-unknown-fields): keys
 * are map keys; with `keys: "fields"` (parts of built-ins not described here) keys count as
 * declared struct fields, as they are in kube's Go types.
 */
export interface UntypedType {
  kind: "untyped";
  keys: "fields" | "elements";
}

/** Any field type. */
export type FieldType = ScalarType | MapType | ListType | UntypedType;

/** Scalar fields. */
export const SCALAR: ScalarType = { kind: "scalar" };
/** Struct fields this table does not describe: keys are fields, lists atomic. */
export const UNDESCRIBED: UntypedType = { kind: "untyped", keys: "fields" };
/** structured-merge-diff's deduced type (`x-kubernetes-preserve-unknown-fields`). */
export const DEDUCED: UntypedType = { kind: "untyped", keys: "elements" };

const STRINGS: MapType = { kind: "map", elements: SCALAR };
const ATOMIC_LIST: ListType = { kind: "list", list: "atomic", items: UNDESCRIBED };
const ATOMIC_STRUCT: MapType = { kind: "map", atomic: true };
const CONDITIONS: ListType = { kind: "list", list: "map", keys: ["type"], items: UNDESCRIBED };

function struct(fields: Record<string, FieldType>): MapType {
  return { kind: "map", fields };
}

/** `metadata` (ObjectMeta) of every kind, custom resources included. */
export const OBJECT_META: MapType = struct({
  labels: STRINGS,
  annotations: STRINGS,
  finalizers: { kind: "list", list: "set", items: SCALAR },
  ownerReferences: { kind: "list", list: "map", keys: ["uid"], items: ATOMIC_STRUCT },
  managedFields: ATOMIC_LIST,
});

/** A top-level object type: apiVersion, kind, metadata and the kind's own fields. */
export function objectType(fields: Record<string, FieldType>): MapType {
  return struct({ apiVersion: SCALAR, kind: SCALAR, metadata: OBJECT_META, ...fields });
}

/** The built-in kinds' list and map semantics (Kubernetes' openapi), by storage key. */
const BUILTIN_TYPES: Record<string, MapType> = {
  "/namespaces": objectType({
    spec: struct({ finalizers: ATOMIC_LIST }),
    status: struct({ conditions: CONDITIONS }),
  }),
  "/configmaps": objectType({ data: STRINGS, binaryData: STRINGS }),
  "/secrets": objectType({ data: STRINGS, stringData: STRINGS }),
  "/serviceaccounts": objectType({
    secrets: { kind: "list", list: "map", keys: ["name"], items: ATOMIC_STRUCT },
    imagePullSecrets: ATOMIC_LIST,
  }),
  "/resourcequotas": objectType({
    spec: struct({
      hard: STRINGS,
      scopes: ATOMIC_LIST,
      scopeSelector: struct({ matchExpressions: ATOMIC_LIST }),
    }),
    status: struct({ hard: STRINGS, used: STRINGS }),
  }),
  "/limitranges": objectType({ spec: struct({ limits: ATOMIC_LIST }) }),
  "/events": objectType({ involvedObject: ATOMIC_STRUCT, related: ATOMIC_STRUCT }),
  "events.k8s.io/events": objectType({ regarding: ATOMIC_STRUCT, related: ATOMIC_STRUCT }),
  "networking.k8s.io/networkpolicies": objectType({
    spec: struct({
      podSelector: ATOMIC_STRUCT,
      ingress: ATOMIC_LIST,
      egress: ATOMIC_LIST,
      policyTypes: ATOMIC_LIST,
    }),
    status: struct({ conditions: CONDITIONS }),
  }),
  "rbac.authorization.k8s.io/roles": objectType({ rules: ATOMIC_LIST }),
  "rbac.authorization.k8s.io/clusterroles": objectType({
    rules: ATOMIC_LIST,
    aggregationRule: struct({ clusterRoleSelectors: ATOMIC_LIST }),
  }),
  "rbac.authorization.k8s.io/rolebindings": objectType({
    subjects: ATOMIC_LIST,
    roleRef: ATOMIC_STRUCT,
  }),
  "rbac.authorization.k8s.io/clusterrolebindings": objectType({
    subjects: ATOMIC_LIST,
    roleRef: ATOMIC_STRUCT,
  }),
  "coordination.k8s.io/leases": objectType({}),
  "apiextensions.k8s.io/customresourcedefinitions": objectType({
    spec: struct({
      versions: ATOMIC_LIST,
      names: struct({ shortNames: ATOMIC_LIST, categories: ATOMIC_LIST }),
    }),
    status: struct({
      conditions: CONDITIONS,
      acceptedNames: struct({ shortNames: ATOMIC_LIST, categories: ATOMIC_LIST }),
      storedVersions: ATOMIC_LIST,
    }),
  }),
};

/** The type of a built-in kind by storage key; kinds not listed get only ObjectMeta's. */
export function builtinType(key: string): MapType {
  return BUILTIN_TYPES[key] ?? objectType({});
}

/** A field's type, and whether it is a declared field (or a map key). */
export interface FieldOf {
  type: FieldType;
  declared: boolean;
}

/** The type of key `name` of an object of type `map`. */
export function fieldOf(map: MapType, name: string): FieldOf {
  const declared = map.fields?.[name];
  if (declared) return { type: declared, declared: true };
  if (map.elements) return { type: map.elements, declared: false };
  return { type: UNDESCRIBED, declared: true };
}

/**
 * The type to walk `value` with: an untyped type takes the value's shape, and a value whose shape
 * does not fit its type (a scalar where an object was described) is a scalar.
 */
export function resolve(type: FieldType, value: unknown): FieldType {
  const isArray = Array.isArray(value);
  const isMap = typeof value === "object" && value !== null && !isArray;
  if (type.kind === "untyped") {
    if (isMap) return type.keys === "elements" ? { kind: "map", elements: type } : UNDESCRIBED_MAP;
    if (isArray) return { kind: "list", list: "atomic", items: type };
    return SCALAR;
  }
  if (type.kind === "map" && !isMap) return SCALAR;
  if (type.kind === "list" && !isArray) return SCALAR;
  return type;
}

const UNDESCRIBED_MAP: MapType = { kind: "map" };
