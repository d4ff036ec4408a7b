// Every difference the conformance suite may find between the dev API server and the real one,
// with its reason; anything else fails the suite. Each id has a row in the README's table of
// known differences (tests/conformance/known_differences_test.ts checks).

/** Why a difference is allowed. */
export type DifferenceKind =
  /** The real server lacks a feature of the Kubernetes the dev server imitates (`lacks`). */
  | "version"
  /** The dev API server deliberately does less, or what the real server does is a defect. */
  | "dev-server";

/** One allowed difference. */
export interface KnownDifference {
  /** A short name, also the README row's. */
  id: string;
  kind: DifferenceKind;
  /** Why. */
  reason: string;
  /**
   * The scenarios it occurs in (each a name's start), or "*" for any; in a named scenario it
   * must show, else the suite says the entry is stale.
   */
  scenario: string[] | "*";
  /** The steps it occurs in (default any). */
  step?: RegExp;
  /** The differing fields (default any). */
  path?: RegExp;
  /**
   * For "version": the feature (a name in lib/operator/kubernetes_version.ts, or its start) whose
   * absence on the real server explains it; it is expected exactly when the real server lacks it.
   */
  lacks?: string;
}

/** The known differences. */
export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    id: "namespace-name-label",
    kind: "version",
    lacks: "the kubernetes.io/metadata.name namespace label",
    reason: "kube-apiserver labels every namespace with its name from 1.21 on",
    scenario: "*",
    path: /(^|\.)labels(\.|$)/,
  },
  {
    id: "streaming-lists",
    kind: "version",
    lacks: "streaming lists",
    reason:
      "sendInitialEvents watches need the WatchList feature (on by default in 1.32, 1.34+); " +
      "without it the watch is refused with 422 and clients list, then watch",
    scenario: ["watches: a streaming list"],
  },
  {
    id: "crd-validation-rules",
    kind: "version",
    lacks: "CRD validation rules",
    reason: "x-kubernetes-validations (CEL) are enforced from 1.25; an older server drops them, " +
      "and does not add the 'some validation rules were not checked' cause either",
    scenario: ["custom resources: CEL", "custom resources: pruning"],
    step: /transition rule|wrong type|not in the enum|two problems/,
  },
  {
    id: "crd-error-reasons",
    kind: "version",
    lacks: "CRD validation rules",
    reason: "schema errors of custom resources got precise reasons (FieldValueTypeInvalid, " +
      "FieldValueTooMany) and wording after 1.20; 1.20 reports FieldValueInvalid",
    scenario: ["custom resources: pruning"],
    step: /too many items|wrong type/,
  },
  {
    id: "finalizer-cause-twice",
    kind: "dev-server",
    reason: "kube-apiserver 1.20 lists the refused new finalizer twice (object metadata is " +
      "validated by two layers); the dev API server lists it once",
    scenario: ["finalizers:"],
    step: /add a finalizer/,
    path: /^body\.details\.causes$/,
  },
  {
    id: "empty-fields-kept",
    kind: "dev-server",
    reason:
      "kube's Go types drop empty maps and lists marked omitempty (a ConfigMap's data: {}); " +
      "the dev API server stores JSON as sent",
    scenario: ["responses:"],
    step: /create with empty data/,
    path: /^body\.data$/,
  },
  {
    id: "quantities-as-sent",
    kind: "dev-server",
    reason:
      "kube-apiserver stores the quantities of built-in kinds in canonical form (8000m as 8, " +
      "16384Mi as 16Gi); the dev API server keeps the client's spelling (the operator compares " +
      "quantities by value, so it works with both)",
    scenario: ["built-in kinds: defaults"],
    step: /spelled unusually/,
    path: /^body\.spec\.hard\./,
  },
  {
    id: "json-patch-failure-details",
    kind: "dev-server",
    reason: "kube-apiserver 1.20 answers a failed JSON patch operation with details {}; the dev " +
      "API server names the object and adds the failing operation as an UnexpectedServerResponse " +
      "cause, which its tests read",
    scenario: ["responses:"],
    step: /JSON patch with a failing test/,
    path: /^body\.details\./,
  },
];
