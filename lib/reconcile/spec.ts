// Reads a Tenant that arrives as untyped JSON: validates the spec defensively (a cluster may run an
// older CRD) and extracts what decisions need, never throwing.
import type { Condition } from "kubernetes-types/meta/v1.d.ts";
import {
  DEFAULT_DELETION_POLICY,
  DELETION_POLICIES,
  type DeletionPolicy,
  DNS_LABEL_PATTERN,
  isDnsLabel,
  MAX_DNS_LABEL_LENGTH as MAX_LABEL_LENGTH,
  NAMESPACE_CLAIM_ANNOTATION,
  parseTime,
  TENANT_FINALIZER,
  type TenantSpec,
} from "../api/mod.ts";

const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const CONDITION_STATUSES = ["True", "False", "Unknown"];

/** What a decision needs to know about a Tenant, read defensively from untyped JSON. */
export interface TenantView {
  /** `metadata.name`. */
  name: string;
  /** `metadata.uid`: the value of the ownership annotation. */
  uid: string;
  /** `metadata.generation`, when the object carries a valid one. */
  generation?: number;
  /** Whether `metadata.deletionTimestamp` is set. */
  deleting: boolean;
  /** `metadata.creationTimestamp` in ms since the epoch, when it is a valid time. */
  created?: number;
  /** `metadata.finalizers` (strings only). */
  finalizers: string[];
  /**
   * `metadata.finalizers` exactly as read (`null` when absent): what a finalizer patch tests
   * before it changes them.
   */
  storedFinalizers: readonly unknown[] | null;
  /** The validated spec, `undefined` when {@linkcode TenantView.problems} is not empty. */
  spec?: Required<TenantSpec>;
  /** Every reason the spec (or the name, used as a label value) is invalid. */
  problems: string[];
  /** `spec.userId` when it is a valid DNS-1123 label, even if other fields are invalid. */
  userId?: string;
  /** `spec.deletionPolicy` with its default applied; `undefined` when set to an invalid value. */
  deletionPolicy?: DeletionPolicy;
  /**
   * The namespace recorded for the Tenant: `status.namespace` when it is a valid DNS-1123 label,
   * else the claim annotation (`kleff.io/namespace-claim`) when it names `spec.userId`.
   */
  recordedNamespace?: string;
  /** The claim annotation as read, when it is a string. */
  claim?: string;
  /** Whether `metadata.annotations` is an object as read (what a claim patch tests). */
  hasAnnotations: boolean;
  /** `status.namespaceUID` when it is a non-empty string. */
  statusNamespaceUID?: string;
  /** `status.quota` when it is a string (kept by decisions that do not recompute it). */
  statusQuota?: string;
  /** The well-formed conditions of the current status. */
  conditions: Condition[];
  /** The current `status` exactly as received (to decide whether a status write is needed). */
  status: unknown;
}

/** The result of {@linkcode readTenant}: a view, or why the object cannot be handled at all. */
export type TenantReading = { ok: true; tenant: TenantView } | { ok: false; problem: string };

/** Narrows an unknown JSON value to a plain object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Renders a rejected value for a message, short enough to read. */
function showValue(value: unknown): string {
  const text = value === undefined ? "nothing" : JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Reads a Tenant from untyped JSON. Fails (`ok: false`) only when the object has no usable
 * `metadata.name` or `metadata.uid`, i.e. when it is not a stored Kubernetes object at all;
 * every spec problem is reported in {@linkcode TenantView.problems} instead.
 */
export function readTenant(raw: unknown): TenantReading {
  if (!isRecord(raw)) return { ok: false, problem: `not an object: ${showValue(raw)}` };
  const metadata = isRecord(raw.metadata) ? raw.metadata : {};
  const name = metadata.name;
  const uid = metadata.uid;
  if (typeof name !== "string" || name === "") {
    return { ok: false, problem: `metadata.name is missing or not a string: ${showValue(name)}` };
  }
  if (typeof uid !== "string" || uid === "") {
    return { ok: false, problem: `Tenant ${name}: metadata.uid is missing or not a string` };
  }
  const finalizers = Array.isArray(metadata.finalizers)
    ? metadata.finalizers.filter((item): item is string => typeof item === "string")
    : [];
  const generation = metadata.generation;
  const status = isRecord(raw.status) ? raw.status : {};
  const statusNamespace = status.namespace;
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : undefined;
  const claim = annotations?.[NAMESPACE_CLAIM_ANNOTATION];
  const statusNamespaceUID = status.namespaceUID;
  const problems: string[] = [];
  if (name.length > MAX_LABEL_LENGTH) {
    problems.push(
      `metadata.name: must be at most ${MAX_LABEL_LENGTH} characters to be used as a label value`,
    );
  }
  const spec = readSpec(raw.spec, problems);
  return {
    ok: true,
    tenant: {
      name,
      uid,
      generation: Number.isSafeInteger(generation) && (generation as number) >= 0
        ? generation as number
        : undefined,
      deleting: metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null,
      created: parseTime(metadata.creationTimestamp),
      finalizers,
      storedFinalizers: Array.isArray(metadata.finalizers) ? metadata.finalizers : null,
      spec: problems.length === 0 ? spec.valid : undefined,
      problems,
      userId: spec.userId,
      deletionPolicy: spec.deletionPolicy,
      recordedNamespace: isDnsLabel(statusNamespace)
        ? statusNamespace
        : claim === spec.userId && spec.userId !== undefined
        ? spec.userId
        : undefined,
      ...(typeof claim === "string" ? { claim } : {}),
      hasAnnotations: annotations !== undefined,
      statusNamespaceUID: typeof statusNamespaceUID === "string" && statusNamespaceUID !== ""
        ? statusNamespaceUID
        : undefined,
      statusQuota: typeof status.quota === "string" ? status.quota : undefined,
      conditions: readConditions(status.conditions),
      status: raw.status,
    },
  };
}

/** Whether the Tenant carries the operator's finalizer. */
export function hasFinalizer(tenant: TenantView): boolean {
  return tenant.finalizers.includes(TENANT_FINALIZER);
}

interface SpecReading {
  valid: Required<TenantSpec>;
  userId: string | undefined;
  deletionPolicy: DeletionPolicy | undefined;
}

function readSpec(raw: unknown, problems: string[]): SpecReading {
  const spec = isRecord(raw) ? raw : {};
  if (!isRecord(raw)) problems.push(`spec: must be an object, got ${showValue(raw)}`);
  const userId = checkString(spec, "userId", DNS_LABEL_PATTERN, problems, "a DNS-1123 label");
  const username = checkString(spec, "username", LABEL_VALUE, problems, "a label value");
  const plan = checkString(spec, "plan", LABEL_VALUE, problems, "a label value");
  const policy = spec.deletionPolicy ?? DEFAULT_DELETION_POLICY;
  const deletionPolicy = DELETION_POLICIES.find((known) => known === policy);
  if (deletionPolicy === undefined) {
    problems.push(
      `spec.deletionPolicy: must be one of ${DELETION_POLICIES.join(", ")}, got ${
        showValue(spec.deletionPolicy)
      }`,
    );
  }
  return {
    valid: {
      userId: userId ?? "",
      username: username ?? "",
      plan: plan ?? "",
      deletionPolicy: deletionPolicy ?? DEFAULT_DELETION_POLICY,
    },
    userId,
    deletionPolicy,
  };
}

function checkString(
  spec: Record<string, unknown>,
  field: string,
  pattern: RegExp,
  problems: string[],
  what: string,
): string | undefined {
  const value = spec[field];
  if (value === undefined || value === null) {
    problems.push(`spec.${field}: required`);
    return undefined;
  }
  if (typeof value !== "string") {
    problems.push(`spec.${field}: must be a string, got ${showValue(value)}`);
    return undefined;
  }
  if (value.length > MAX_LABEL_LENGTH || !pattern.test(value)) {
    problems.push(
      `spec.${field}: must be ${what} (at most ${MAX_LABEL_LENGTH} characters matching ${pattern.source}), got ${
        showValue(value)
      }`,
    );
    return undefined;
  }
  return value;
}

function readConditions(raw: unknown): Condition[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter((item): item is Condition =>
    isRecord(item) && typeof item.type === "string" && typeof item.reason === "string" &&
    typeof item.message === "string" && typeof item.lastTransitionTime === "string" &&
    typeof item.status === "string" && CONDITION_STATUSES.includes(item.status)
  );
}
