// What the chaos driver did and therefore expects: its tenants, the foreign
// namespaces and objects it planted, its finalizer holds and hand-made labels.
// The invariant checker compares this record with what the API server holds.
import type { DeletionPolicy } from "../../lib/api/mod.ts";
import { backoffDelay, type BackoffPolicy, sleep } from "../../lib/backoff.ts";
import {
  ConnectionError,
  isConflict,
  isNotFound,
  ServerError,
  TooManyRequestsError,
} from "../../lib/client/mod.ts";

/** A Tenant the driver created. */
export interface TenantRecord {
  /** metadata.name. */
  name: string;
  /** metadata.uid from the create answer. */
  uid: string;
  /** spec.userId: the namespace it asks for. */
  userId: string;
  /** spec.plan as last set by the driver. */
  plan: string;
  /** spec.username as last set by the driver. */
  username: string;
  /** spec.deletionPolicy as last set by the driver. */
  policy: DeletionPolicy;
  /** `deleted` once the driver sent the delete. */
  state: "live" | "deleted";
  /** Whether its namespace was owned by it (our annotation, not terminating) just before its delete. */
  ownedAtDelete?: boolean;
  /** Whether its userId is a reserved namespace (a squatter: refused with InvalidSpec). */
  reserved?: boolean;
}

/** A namespace (or object) the driver made that the operator must never touch. */
export interface ForeignRecord {
  /** The object's kind (default `ResourceQuota`); unused for a namespace. */
  kind?: string;
  /** Namespace of the object ("" for a namespace itself). */
  namespace: string;
  /** Name. */
  name: string;
  /** uid at creation. */
  uid: string;
  /** resourceVersion at creation: any write by someone else changes it. */
  resourceVersion: string;
  /** For objects inside a namespace: the uid of that namespace (the object dies with it). */
  namespaceUid?: string;
}

/** A ConfigMap with the driver's finalizer, holding its namespace in Terminating. */
export interface HoldRecord {
  /** Namespace. */
  namespace: string;
  /** ConfigMap name. */
  name: string;
}

/** The driver's finalizer on hold ConfigMaps. */
export const HOLD_FINALIZER = "chaos.kleff.io/hold";
/** Prefix of the extra labels the driver sets on managed namespaces (to be left alone). */
export const EXTRA_LABEL = "chaos.kleff.io/edit";

/** Everything the driver did. */
export class Ledger {
  /** Tenants by name. */
  readonly tenants: Map<string, TenantRecord> = new Map();
  /** Foreign namespaces by name. */
  readonly foreignNamespaces: Map<string, ForeignRecord> = new Map();
  /** Foreign objects planted in tenant namespaces (look-alikes of ours, or labelled as another tenant's). */
  readonly foreignObjects: ForeignRecord[] = [];
  /** Finalizer holds not yet released. */
  readonly holds: HoldRecord[] = [];
  /** Extra labels the driver put on managed namespaces, by namespace (with its uid). */
  readonly extraLabels: Map<string, { uid: string; labels: Record<string, string> }> = new Map();
  /** How often each action ran (and failed after retries, as `<action> failed`). */
  readonly actions: Map<string, number> = new Map();

  /** Counts one `action`. */
  count(action: string): void {
    this.actions.set(action, (this.actions.get(action) ?? 0) + 1);
  }

  /** Live tenants, in creation order. */
  live(): TenantRecord[] {
    return [...this.tenants.values()].filter((tenant) => tenant.state === "live");
  }
}

/** Whether `error` is one a driver call should simply retry (an injected or transient failure). */
function isTransient(error: unknown): boolean {
  return error instanceof ConnectionError || error instanceof TooManyRequestsError ||
    error instanceof ServerError || isConflict(error);
}

/** The driver's retry delays: 100 ms doubling up to 1 s. */
const RETRY_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 1000, jitter: 0 };

/**
 * Runs a driver call, retrying transient failures (injected faults hit the driver too);
 * resolves to undefined on NotFound, rethrows anything else or the last transient error.
 */
export async function retrying<T>(call: () => Promise<T>, attempts = 40): Promise<T | undefined> {
  for (let attempt = 1;; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      if (!isTransient(error) || attempt >= attempts) throw error;
      await sleep(backoffDelay(RETRY_BACKOFF, attempt - 1));
    }
  }
}
