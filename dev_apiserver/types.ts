// Shared shapes of the dev API server: objects, tables, verbs and identities.
import type { ObjectMeta } from "kubernetes-types/meta/v1.d.ts";

/** Any Kubernetes object as stored and served by the dev API server. */
export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
};

/** A column header of a `meta.k8s.io/v1` Table. */
export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** One row of a `meta.k8s.io/v1` Table. */
export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

/** A `meta.k8s.io/v1` Table, as `kubectl get` asks for. */
export interface Table {
  apiVersion: "meta.k8s.io/v1";
  kind: "Table";
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

/** The Kubernetes API verbs the dev API server distinguishes. */
export type Verb =
  | "get"
  | "list"
  | "watch"
  | "create"
  | "update"
  | "patch"
  | "delete"
  | "deletecollection";

/** Who sent a request, as authentication established it. */
export interface Identity {
  username: string;
  groups: string[];
}
