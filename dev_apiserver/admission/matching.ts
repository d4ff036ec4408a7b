// Which writes a ValidatingAdmissionPolicy or its binding applies to, decided as kube-apiserver's
// admission matcher decides it: namespace selector, object selector, excluded and included
// resource rules (k8s.io/apiserver .../plugin/cel/matching and webhook/predicates).
import type {
  MatchResources as ApiMatchResources,
  NamedRuleWithOperations,
} from "kubernetes-types/admissionregistration/v1.d.ts";
import type { LabelSelector as ApiLabelSelector } from "kubernetes-types/meta/v1.d.ts";
import { type LabelRequirement, type LabelSelector, matchesLabels } from "../storage/selectors.ts";

/**
 * A resource rule (`NamedRuleWithOperations`); kubernetes-types 1.30 drops the `resources` and
 * `scope` fields it inherits from `RuleWithOperations`, so they are declared here.
 */
export type ResourceRule = NamedRuleWithOperations & { resources?: string[]; scope?: string };

/** `MatchResources` with complete resource rules. */
export type MatchResources =
  & Omit<ApiMatchResources, "resourceRules" | "excludeResourceRules">
  & { resourceRules?: ResourceRule[]; excludeResourceRules?: ResourceRule[] };

/** The admission operations a ValidatingAdmissionPolicy sees. */
export type AdmissionOperation = "CREATE" | "UPDATE" | "DELETE";

/** What the matcher needs to know about one write. */
export interface MatchTarget {
  /** The operation. */
  operation: AdmissionOperation;
  /** API group ("" for core). */
  group: string;
  /** API version of the request. */
  version: string;
  /** Resource plural. */
  resource: string;
  /** Other served versions of the same group/resource (`matchPolicy: Equivalent`). */
  equivalentVersions: readonly string[];
  /** Subresource ("" for the main resource). */
  subresource: string;
  /** Namespace of the request ("" for cluster-scoped objects; a Namespace's own name for it). */
  namespace: string;
  /** Object name. */
  name: string;
  /** Labels of the new object (CREATE, UPDATE). */
  objectLabels?: Record<string, string>;
  /** Labels of the old object (UPDATE, DELETE). */
  oldObjectLabels?: Record<string, string>;
  /** Labels of the stored namespace `namespace`; undefined when it does not exist. */
  namespaceLabels: () => Record<string, string> | undefined;
}

/** A namespace the namespace selector needs does not exist (kube answers 404 for it). */
export class NamespaceNotFoundError extends Error {
  /** Builds the error naming the namespace. */
  constructor(readonly namespace: string) {
    super(`namespaces "${namespace}" not found`);
    this.name = "NamespaceNotFoundError";
  }
}

/** A `metav1.LabelSelector` as a parsed selector: matchLabels and matchExpressions ANDed. */
export function labelSelectorOf(selector: ApiLabelSelector | undefined): LabelSelector {
  const requirements: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    requirements.push({ key, operator: "=", values: [value] });
  }
  for (const expression of selector?.matchExpressions ?? []) {
    const values = [...new Set(expression.values ?? [])].sort();
    const operator = ({ In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!" } as const)[
      expression.operator as "In" | "NotIn" | "Exists" | "DoesNotExist"
    ];
    if (operator === undefined) {
      throw new TypeError(`${JSON.stringify(expression.operator)} is not a valid label operator`);
    }
    requirements.push({ key: expression.key, operator, values });
  }
  return { requirements };
}

const isEmpty = (selector: ApiLabelSelector | undefined) =>
  Object.keys(selector?.matchLabels ?? {}).length === 0 &&
  (selector?.matchExpressions ?? []).length === 0;

/**
 * kube's namespace selector: cluster-scoped objects other than namespaces always match; a
 * Namespace being created or updated is matched by its own new labels, anything else by the
 * stored namespace's labels.
 */
function namespaceSelectorMatches(
  selector: ApiLabelSelector | undefined,
  target: MatchTarget,
): boolean {
  const isNamespace = target.group === "" && target.resource === "namespaces";
  if (target.namespace === "" && !isNamespace) return true;
  if (isEmpty(selector)) return true;
  let labels: Record<string, string> | undefined;
  if (isNamespace && target.subresource === "" && target.operation !== "DELETE") {
    labels = target.objectLabels ?? {};
  } else {
    labels = target.namespaceLabels();
    if (labels === undefined) throw new NamespaceNotFoundError(target.namespace);
  }
  return matchesLabels(labelSelectorOf(selector), labels);
}

/** kube's object selector: the new or the old object matches. */
function objectSelectorMatches(
  selector: ApiLabelSelector | undefined,
  target: MatchTarget,
): boolean {
  if (isEmpty(selector)) return true;
  const parsed = labelSelectorOf(selector);
  return [target.objectLabels, target.oldObjectLabels].some((labels) =>
    labels !== undefined && matchesLabels(parsed, labels)
  );
}

const wildcardOr = (items: readonly string[] | undefined, value: string) =>
  (items ?? []).some((item) => item === "*" || item === value);

/** Whether one rule matches the write in `version` (scope, operation, group, version, resource). */
function ruleMatches(rule: ResourceRule, target: MatchTarget, version: string): boolean {
  const isNamespace = target.group === "" && target.resource === "namespaces";
  const scope = rule.scope ?? "*";
  const scoped = scope === "*" ||
    (scope === "Namespaced" && !isNamespace && target.namespace !== "") ||
    (scope === "Cluster" && (isNamespace || target.namespace === ""));
  const resourced = (rule.resources ?? []).some((entry) => {
    const [resource, subresource = ""] = entry.split(/\/(.*)/s);
    return (resource === "*" || resource === target.resource) &&
      (subresource === "*" || subresource === target.subresource);
  });
  const named = (rule.resourceNames ?? []).length === 0 ||
    (rule.resourceNames ?? []).includes(target.name);
  return scoped && wildcardOr(rule.operations, target.operation) &&
    wildcardOr(rule.apiGroups, target.group) && wildcardOr(rule.apiVersions, version) &&
    resourced && named;
}

function rulesMatch(
  rules: readonly ResourceRule[] | undefined,
  matchPolicy: string | undefined,
  target: MatchTarget,
): boolean {
  const versions = matchPolicy === "Exact"
    ? [target.version]
    : [target.version, ...target.equivalentVersions];
  return (rules ?? []).some((rule) =>
    versions.some((version) => ruleMatches(rule, target, version))
  );
}

/**
 * Whether `resources` (a policy's `matchConstraints`, or a binding's `matchResources` when
 * `binding`) select the write. A binding without resource rules selects everything its policy
 * does. `matchPolicy` defaults to Equivalent: a rule for another served version of the same
 * resource matches too. Throws {@linkcode NamespaceNotFoundError}.
 */
export function resourcesMatch(
  resources: MatchResources | undefined,
  target: MatchTarget,
  options: { binding: boolean },
): boolean {
  if (!namespaceSelectorMatches(resources?.namespaceSelector, target)) return false;
  if (!objectSelectorMatches(resources?.objectSelector, target)) return false;
  if (rulesMatch(resources?.excludeResourceRules, resources?.matchPolicy, target)) return false;
  if (options.binding && resources?.resourceRules === undefined) return true;
  return rulesMatch(resources?.resourceRules, resources?.matchPolicy, target);
}
