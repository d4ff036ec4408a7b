// One ValidatingAdmissionPolicy evaluated for one binding and one write, with kube's semantics:
// match conditions first (any false skips, errors follow failurePolicy), then every validation
// (false denies with messageExpression, message or "failed expression: …"; errors follow
// failurePolicy), with lazily evaluated `variables` (k8s.io/apiserver …/policy/validating/validator.go).
import { CelEvalError, type CelProgram } from "../crd/cel.ts";
import type { CompiledPolicy } from "./policy.ts";

/** The CEL variables of a write (`params` is always null: parameter resources are not supported). */
export interface Activation {
  /** The new object; null on DELETE. */
  object: unknown;
  /** The stored object; null on CREATE. */
  oldObject: unknown;
  /** The AdmissionRequest (kind, resource, name, namespace, operation, userInfo, dryRun, options). */
  request: Record<string, unknown>;
  /** The namespace of a namespaced object; null for cluster-scoped objects and namespaces. */
  namespaceObject: unknown;
}

/** The outcome of one validation (or of the policy's match conditions failing). */
export interface PolicyDecision {
  /** Deny: a validation was not true, or an expression failed under failurePolicy Fail. */
  action: "admit" | "deny";
  /** Why it was denied. */
  message: string;
  /** The Status reason of a denial: the validation's `reason`, else Invalid. */
  reason: string;
}

function run(program: CelProgram, scope: Record<string, unknown>): unknown {
  try {
    return program.evaluate(scope);
  } catch (error) {
    if (error instanceof CelEvalError) {
      throw new CelEvalError(
        `expression '${program.expression}' resulted in error: ${error.message}`,
      );
    }
    throw error;
  }
}

/** `variables`: each one evaluated on first use, its value or error kept for later uses (kube's lazy map). */
function lazyVariables(
  policy: CompiledPolicy,
  base: Record<string, unknown>,
): Record<string, unknown> {
  const variables: Record<string, unknown> = {};
  const scope = { ...base, variables };
  for (const { name, program } of policy.variables) {
    let outcome: { value: unknown } | { error: unknown } | undefined;
    Object.defineProperty(variables, name, {
      enumerable: true,
      get: () => {
        if (outcome === undefined) {
          try {
            outcome = { value: program.evaluate(scope) };
          } catch (error) {
            outcome = {
              error: error instanceof CelEvalError
                ? new CelEvalError(
                  `composited variable ${JSON.stringify(name)} fails to evaluate: ${error.message}`,
                )
                : error,
            };
          }
        }
        if ("error" in outcome) throw outcome.error;
        return outcome.value;
      },
    });
  }
  return scope;
}

/** A decision for an expression that failed: deny under Fail, nothing under Ignore. */
function failed(policy: CompiledPolicy, message: string): PolicyDecision[] {
  return policy.failurePolicy === "Fail" ? [{ action: "deny", message, reason: "Invalid" }] : [];
}

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error);

/** Evaluates `policy` for one write; the decisions of its validations (none when it does not apply). */
export function evaluatePolicy(policy: CompiledPolicy, activation: Activation): PolicyDecision[] {
  const base: Record<string, unknown> = { ...activation, params: null };
  const errors: string[] = [];
  for (const { program } of policy.matchConditions) {
    try {
      const result = run(program, base);
      if (result === false) return [];
      if (result !== true) {
        errors.push(`expression '${program.expression}' resulted in error: not a bool`);
      }
    } catch (error) {
      if (!(error instanceof CelEvalError)) throw error;
      errors.push(error.message);
    }
  }
  if (errors.length > 0) {
    return failed(policy, errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`);
  }
  const scope = lazyVariables(policy, base);
  return policy.validations.flatMap((validation): PolicyDecision[] => {
    let result: unknown;
    try {
      result = run(validation.program, scope);
    } catch (error) {
      if (!(error instanceof CelEvalError)) throw error;
      return failed(policy, messageOf(error));
    }
    if (result === true) return [{ action: "admit", message: "", reason: "" }];
    let message = "";
    if (validation.messageProgram) {
      try {
        const value = run(validation.messageProgram, scope);
        if (typeof value === "string" && !value.includes("\n")) message = value.trim();
      } catch (error) {
        if (!(error instanceof CelEvalError)) throw error;
      }
    }
    if (message === "") message = validation.message?.trim() ?? "";
    if (message === "") message = `failed expression: ${validation.program.expression.trim()}`;
    return [{ action: "deny", message, reason: validation.reason ?? "Invalid" }];
  });
}
