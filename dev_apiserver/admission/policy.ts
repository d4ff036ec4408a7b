// ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding objects (admissionregistration.k8s.io/v1):
// their validation when written, as kube-apiserver validates them (required fields, CEL that
// compiles), and their compiled form for evaluation.
import type {
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from "kubernetes-types/admissionregistration/v1.d.ts";
import { type CelProgram, CelUnsupportedError, compileCel } from "../crd/cel.ts";
import type { MatchResources } from "./matching.ts";
import type { StatusCause } from "../http/status.ts";
import type { KubeObject } from "../types.ts";

/** Storage key of ValidatingAdmissionPolicies. */
export const POLICIES = "admissionregistration.k8s.io/validatingadmissionpolicies";
/** Storage key of ValidatingAdmissionPolicyBindings. */
export const POLICY_BINDINGS = "admissionregistration.k8s.io/validatingadmissionpolicybindings";

/** A named, compiled CEL expression (match condition or variable). */
export interface NamedProgram {
  name: string;
  program: CelProgram;
}

/** One compiled validation. */
export interface CompiledValidation {
  program: CelProgram;
  message?: string;
  messageProgram?: CelProgram;
  /** Status reason of a denial (default Invalid). */
  reason?: string;
}

/** A policy ready to evaluate. */
export interface CompiledPolicy {
  name: string;
  failurePolicy: "Fail" | "Ignore";
  matchConstraints: MatchResources;
  matchConditions: NamedProgram[];
  variables: NamedProgram[];
  validations: CompiledValidation[];
}

/** A binding ready to evaluate. */
export interface CompiledBinding {
  name: string;
  policyName: string;
  matchResources?: MatchResources;
  validationActions: ("Deny" | "Warn" | "Audit")[];
}

type PolicySpec =
  & Omit<NonNullable<ValidatingAdmissionPolicy["spec"]>, "matchConstraints">
  & { matchConstraints?: MatchResources };
type BindingSpec =
  & Omit<NonNullable<ValidatingAdmissionPolicyBinding["spec"]>, "matchResources">
  & { matchResources?: MatchResources };

const REASONS = ["Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge"];
const ACTIONS = ["Deny", "Warn", "Audit"];
const OPERATIONS = ["*", "CREATE", "UPDATE", "DELETE", "CONNECT"];
const CEL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

const required = (field: string): StatusCause => ({
  reason: "FieldValueRequired",
  field,
  message: "Required value",
});
const invalidValue = (field: string, value: unknown, why: string): StatusCause => ({
  reason: "FieldValueInvalid",
  field,
  message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
});
const unsupported = (field: string, value: unknown, allowed: readonly string[]): StatusCause => ({
  reason: "FieldValueNotSupported",
  field,
  message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${
    allowed.map((a) => JSON.stringify(a)).join(", ")
  }`,
});
const forbiddenField = (field: string, why: string): StatusCause => ({
  reason: "FieldValueForbidden",
  field,
  message: `Forbidden: ${why}`,
});

/** Compiles one expression, or describes why it cannot be at `field`. */
function compile(
  expression: unknown,
  field: string,
  causes: StatusCause[],
): CelProgram | undefined {
  if (typeof expression !== "string" || expression.trim() === "") {
    causes.push(required(field));
    return undefined;
  }
  try {
    return compileCel(expression);
  } catch (error) {
    if (!(error instanceof CelUnsupportedError)) throw error;
    causes.push(
      invalidValue(
        field,
        expression,
        `compilation failed: ${error.message} (the dev API server evaluates a subset of CEL)`,
      ),
    );
    return undefined;
  }
}

function ruleProblems(resources: MatchResources | undefined, field: string): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const key of ["resourceRules", "excludeResourceRules"] as const) {
    (resources?.[key] ?? []).forEach((rule, index) => {
      const at = `${field}.${key}[${index}]`;
      for (const list of ["apiGroups", "apiVersions", "operations", "resources"] as const) {
        const values = (rule as Record<string, unknown>)[list];
        if (!Array.isArray(values) || values.length === 0) causes.push(required(`${at}.${list}`));
        else if (values.includes("*") && values.length > 1) {
          causes.push(
            invalidValue(
              `${at}.${list}`,
              values,
              "if '*' is present, must not specify other values",
            ),
          );
        }
      }
      for (const operation of rule.operations ?? []) {
        if (!OPERATIONS.includes(operation)) {
          causes.push(unsupported(`${at}.operations`, operation, OPERATIONS));
        }
      }
      if (rule.scope !== undefined && !["*", "Cluster", "Namespaced"].includes(rule.scope)) {
        causes.push(unsupported(`${at}.scope`, rule.scope, ["*", "Cluster", "Namespaced"]));
      }
    });
  }
  if (
    resources?.matchPolicy !== undefined && !["Exact", "Equivalent"].includes(resources.matchPolicy)
  ) {
    causes.push(
      unsupported(`${field}.matchPolicy`, resources.matchPolicy, ["Equivalent", "Exact"]),
    );
  }
  return causes;
}

/** Compiles a policy; `causes` receives every problem (an empty list means it is valid). */
function compilePolicyInto(object: KubeObject, causes: StatusCause[]): CompiledPolicy {
  const spec = ((object as ValidatingAdmissionPolicy).spec ?? {}) as PolicySpec;
  if (!spec.matchConstraints) causes.push(required("spec.matchConstraints"));
  else if (!spec.matchConstraints.resourceRules?.length) {
    causes.push(required("spec.matchConstraints.resourceRules"));
  }
  causes.push(...ruleProblems(spec.matchConstraints, "spec.matchConstraints"));
  const failurePolicy = spec.failurePolicy ?? "Fail";
  if (failurePolicy !== "Fail" && failurePolicy !== "Ignore") {
    causes.push(unsupported("spec.failurePolicy", failurePolicy, ["Fail", "Ignore"]));
  }
  if (spec.paramKind !== undefined) {
    causes.push(
      forbiddenField(
        "spec.paramKind",
        "parameter resources are not supported by the dev API server",
      ),
    );
  }
  if ((spec.auditAnnotations ?? []).length > 0) {
    causes.push(
      forbiddenField(
        "spec.auditAnnotations",
        "audit annotations are not supported by the dev API server",
      ),
    );
  }
  if ((spec.validations ?? []).length === 0) {
    causes.push(required("spec.validations"));
  }
  const named = (list: { name?: string; expression?: string }[] | undefined, field: string) =>
    (list ?? []).flatMap((item, index) => {
      const at = `${field}[${index}]`;
      if (!item.name) causes.push(required(`${at}.name`));
      else if (field === "spec.variables" && !CEL_IDENTIFIER.test(item.name)) {
        causes.push(invalidValue(`${at}.name`, item.name, "name is not a valid CEL identifier"));
      }
      const program = compile(item.expression, `${at}.expression`, causes);
      return program && item.name ? [{ name: item.name, program }] : [];
    });
  const matchConditions = named(spec.matchConditions, "spec.matchConditions");
  const variables = named(spec.variables, "spec.variables");
  const validations = (spec.validations ?? []).flatMap((validation, index) => {
    const at = `spec.validations[${index}]`;
    const program = compile(validation.expression, `${at}.expression`, causes);
    const messageProgram = validation.messageExpression === undefined
      ? undefined
      : compile(validation.messageExpression, `${at}.messageExpression`, causes);
    if (validation.message?.includes("\n")) {
      causes.push(
        invalidValue(`${at}.message`, validation.message, "message must not contain line breaks"),
      );
    }
    if (validation.reason !== undefined && !REASONS.includes(validation.reason)) {
      causes.push(unsupported(`${at}.reason`, validation.reason, REASONS));
    }
    return program
      ? [{ program, message: validation.message, messageProgram, reason: validation.reason }]
      : [];
  });
  return {
    name: object.metadata?.name ?? "",
    failurePolicy: failurePolicy === "Ignore" ? "Ignore" : "Fail",
    matchConstraints: spec.matchConstraints ?? {},
    matchConditions,
    variables,
    validations,
  };
}

/** What is wrong with a ValidatingAdmissionPolicy being written, as Invalid causes. */
export function policyProblems(object: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  compilePolicyInto(object, causes);
  return causes;
}

/** Compiles a stored (so already validated) ValidatingAdmissionPolicy. */
export function compilePolicy(object: KubeObject): CompiledPolicy {
  return compilePolicyInto(object, []);
}

/** What is wrong with a ValidatingAdmissionPolicyBinding being written, as Invalid causes. */
export function bindingProblems(object: KubeObject): StatusCause[] {
  const spec = ((object as ValidatingAdmissionPolicyBinding).spec ?? {}) as BindingSpec;
  const causes: StatusCause[] = [];
  if (!spec.policyName) causes.push(required("spec.policyName"));
  const actions = spec.validationActions ?? [];
  if (actions.length === 0) causes.push(required("spec.validationActions"));
  for (const action of actions) {
    if (!ACTIONS.includes(action)) {
      causes.push(unsupported("spec.validationActions", action, ACTIONS));
    }
  }
  if (new Set(actions).size !== actions.length) {
    causes.push(invalidValue("spec.validationActions", actions, "must not contain duplicates"));
  }
  if (actions.includes("Deny") && actions.includes("Warn")) {
    causes.push(
      invalidValue(
        "spec.validationActions",
        actions,
        "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
      ),
    );
  }
  if (spec.paramRef !== undefined) {
    causes.push(
      forbiddenField(
        "spec.paramRef",
        "parameter resources are not supported by the dev API server",
      ),
    );
  }
  causes.push(...ruleProblems(spec.matchResources, "spec.matchResources"));
  return causes;
}

/** A stored (so already validated) binding, ready to evaluate. */
export function compileBinding(object: KubeObject): CompiledBinding {
  const spec = ((object as ValidatingAdmissionPolicyBinding).spec ?? {}) as BindingSpec;
  return {
    name: object.metadata?.name ?? "",
    policyName: spec.policyName ?? "",
    matchResources: spec.matchResources,
    validationActions: (spec.validationActions ?? []) as CompiledBinding["validationActions"],
  };
}
