// Prunes, defaults and validates custom resources against a CRD's structural openAPIV3Schema
// the way kube-apiserver does, so clients see the same 422 causes, word for word.
import type { JSONSchemaProps, ValidationRule } from "kubernetes-types/apiextensions/v1.d.ts";
import { log } from "../../lib/log.ts";
import { type CelProgram, CelUnsupportedError, compileCel } from "./cel.ts";
import { deepEqual, isObject } from "../storage/objects.ts";

/** A structural schema node: JSONSchemaProps plus the `x-kubernetes-*` extensions. */
export type StructuralSchema =
  & Omit<JSONSchemaProps, "properties" | "items" | "additionalProperties">
  & {
    properties?: Record<string, StructuralSchema>;
    items?: StructuralSchema | StructuralSchema[];
    additionalProperties?: StructuralSchema | boolean;
    "x-kubernetes-preserve-unknown-fields"?: boolean;
    "x-kubernetes-embedded-resource"?: boolean;
    "x-kubernetes-int-or-string"?: boolean;
    "x-kubernetes-validations"?: ValidationRule[];
    "x-kubernetes-list-type"?: string;
    "x-kubernetes-list-map-keys"?: string[];
    "x-kubernetes-map-type"?: string;
  };

/** One cause of a 422 Invalid answer, as kube-apiserver reports it. */
export interface FieldError {
  reason:
    | "FieldValueRequired"
    | "FieldValueInvalid"
    | "FieldValueNotSupported"
    | "FieldValueTypeInvalid"
    | "FieldValueTooLong"
    | "FieldValueTooMany"
    | "FieldValueForbidden"
    | "FieldValueDuplicate";
  /** Path such as `spec.userId` or `spec.items[2].name`. */
  field: string;
  /** The error body, e.g. `Invalid value: "x": spec.userId in body should match '^[a-z]+$'`. */
  message: string;
}

type JsonObject = Record<string, unknown>;

function node(
  schema: JSONSchemaProps | StructuralSchema | undefined,
): StructuralSchema | undefined {
  return schema as StructuralSchema | undefined;
}

function itemsOf(schema: StructuralSchema): StructuralSchema | undefined {
  return Array.isArray(schema.items) ? node(schema.items[0]) : node(schema.items);
}

function additionalOf(schema: StructuralSchema): StructuralSchema | boolean | undefined {
  const additional = schema.additionalProperties;
  return typeof additional === "boolean" ? additional : node(additional);
}

const RESOURCE_FIELDS = new Set(["apiVersion", "kind", "metadata"]);

function pruneValue(schema: StructuralSchema, value: unknown, resource: boolean): unknown {
  if (schema["x-kubernetes-int-or-string"]) return value;
  if (Array.isArray(value)) {
    const items = itemsOf(schema);
    return items ? value.map((item) => pruneValue(items, item, false)) : value;
  }
  if (!isObject(value)) return value;
  const keepResourceFields = resource || schema["x-kubernetes-embedded-resource"] === true;
  const properties = schema.properties ?? {};
  const additional = additionalOf(schema);
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  const result: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    let kept: unknown;
    let keep = true;
    const property = node(Object.hasOwn(properties, key) ? properties[key] : undefined);
    if (keepResourceFields && RESOURCE_FIELDS.has(key) && (resource || !property)) {
      kept = item;
    } else if (property) {
      kept = pruneValue(property, item, false);
    } else if (typeof additional === "object") {
      kept = pruneValue(additional, item, false);
    } else if (additional === true || preserve) {
      kept = item;
    } else {
      keep = false;
    }
    if (keep) {
      Object.defineProperty(result, key, {
        value: kept,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
  }
  for (const [key, property] of Object.entries(properties)) {
    const child = node(property)!;
    if (child.default === undefined) continue;
    if (resource && key === "metadata") continue;
    const current = result[key];
    if (current === undefined || (current === null && child.nullable !== true)) {
      result[key] = pruneValue(child, structuredClone(child.default), false);
    }
  }
  return result;
}

/**
 * Prunes fields the schema does not know (keeping `x-kubernetes-preserve-unknown-fields`
 * subtrees, `additionalProperties` maps, int-or-string values and the apiVersion/kind/metadata
 * of the root and of embedded resources) and applies `default`s where a field is absent (or
 * null without `nullable`) and its parent object exists. Returns a new value.
 */
export function pruneAndDefault(schema: JSONSchemaProps, value: unknown): unknown {
  return pruneValue(schema as StructuralSchema, structuredClone(value), true);
}

type Segment = { kind: "property" | "key"; name: string } | { kind: "index"; index: number };

/** kube-openapi's name for a path (`spec.items[2].name`, map keys as `.key`). */
function openApiPath(path: Segment[]): string {
  let text = "";
  for (const segment of path) {
    if (segment.kind === "index") text += `[${segment.index}]`;
    else text += text === "" ? segment.name : `.${segment.name}`;
  }
  return text;
}

/** apimachinery's field.Path rendering (`spec.labels[key]`, `<nil>` at the root). */
function fieldPath(path: Segment[]): string {
  let text = "";
  for (const segment of path) {
    if (segment.kind === "index") text += `[${segment.index}]`;
    else if (segment.kind === "key") text += `[${segment.name}]`;
    else text += text === "" ? segment.name : `.${segment.name}`;
  }
  return text === "" ? "<nil>" : text;
}

/** Go's `%v` for a float64 (shortest form, exponent outside [-4, 6)). */
function goFloat(value: number): string {
  if (!Number.isFinite(value) || value === 0) return String(value);
  const exponent = Math.floor(Math.log10(Math.abs(value)));
  if (exponent >= -4 && exponent < 6) return String(value);
  const [mantissa, power] = value.toExponential().split("e");
  const sign = power.startsWith("-") ? "-" : "+";
  return `${mantissa}e${sign}${power.replace(/^[+-]/, "").padStart(2, "0")}`;
}

/** How apimachinery prints a bad value in an error body. */
function badValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : goFloat(value);
  if (typeof value === "boolean") return String(value);
  return JSON.stringify(value) ?? "null";
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function hasType(schema: StructuralSchema, value: unknown): boolean {
  if (schema["x-kubernetes-int-or-string"]) {
    return typeof value === "string" || Number.isInteger(value);
  }
  switch (schema.type) {
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    default:
      return true;
  }
}

/** Indices of items equal to an earlier item: scalars through a Set, the rest compared. */
function duplicates(items: unknown[]): number[] {
  const scalars = new Set<unknown>();
  const composites: unknown[] = [];
  const found: number[] = [];
  items.forEach((item, index) => {
    if (item === null || typeof item !== "object") {
      if (scalars.has(item)) found.push(index);
      else scalars.add(item);
    } else if (composites.some((earlier) => deepEqual(earlier, item))) {
      found.push(index);
    } else {
      composites.push(item);
    }
  });
  return found;
}

const patterns = new Map<string, RegExp | undefined>();

/** The compiled `pattern` (cached per pattern text); undefined when it does not compile. */
function patternRegExp(pattern: string): RegExp | undefined {
  if (patterns.has(pattern)) return patterns.get(pattern);
  let compiled: RegExp | undefined;
  try {
    compiled = new RegExp(pattern, "u");
  } catch {
    log("apiserver").warn("skipping unparsable pattern {pattern}", { pattern });
  }
  patterns.set(pattern, compiled);
  return compiled;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const FORMATS: Record<string, (value: unknown) => boolean> = {
  "date-time": (v) => typeof v !== "string" || (DATE_TIME.test(v) && !Number.isNaN(Date.parse(v))),
  date: (v) => typeof v !== "string" || /^\d{4}-\d{2}-\d{2}$/.test(v),
  int32: (v) => typeof v !== "number" || (v >= -(2 ** 31) && v < 2 ** 31),
  uuid: (v) =>
    typeof v !== "string" ||
    /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(v),
};

const programs = new Map<string, CelProgram | CelUnsupportedError>();

function program(expression: string): CelProgram | undefined {
  let compiled = programs.get(expression);
  if (compiled === undefined) {
    try {
      compiled = compileCel(expression);
    } catch (error) {
      if (!(error instanceof CelUnsupportedError)) throw error;
      compiled = error;
      log("apiserver").warn("skipping x-kubernetes-validations rule: {reason}", {
        reason: error.message,
      });
    }
    programs.set(expression, compiled);
  }
  return compiled instanceof CelUnsupportedError ? undefined : compiled;
}

class Validator {
  errors: FieldError[] = [];
  ruleErrors: FieldError[] = [];

  invalid(path: Segment[], value: unknown, detail: string): void {
    this.errors.push({
      reason: "FieldValueInvalid",
      field: fieldPath(path),
      message: `Invalid value: ${badValue(value)}: ${openApiPath(path)} in body ${detail}`,
    });
  }

  walk(
    schema: StructuralSchema,
    value: unknown,
    old: { value: unknown } | undefined,
    path: Segment[],
    root: boolean,
  ): void {
    const name = openApiPath(path);
    const field = fieldPath(path);
    if (
      value === null && (schema.nullable || (!schema.type && !schema["x-kubernetes-int-or-string"]))
    ) {
      return;
    }
    if (!hasType(schema, value)) {
      const expected = schema["x-kubernetes-int-or-string"] ? "integer,string" : schema.type!;
      const actual = jsonType(value);
      this.errors.push({
        reason: "FieldValueTypeInvalid",
        field,
        message:
          `Invalid value: "${actual}": ${name} in body must be of type ${expected}: "${actual}"`,
      });
      return;
    }
    if (schema.format && FORMATS[schema.format] && !FORMATS[schema.format](value)) {
      this.errors.push({
        reason: "FieldValueTypeInvalid",
        field,
        message: `Invalid value: ${
          badValue(value)
        }: ${name} in body must be of type ${schema.format}: ${JSON.stringify(String(value))}`,
      });
    }
    if (schema.enum && !schema.enum.some((allowed) => deepEqual(allowed, value))) {
      const supported = schema.enum.map((allowed) =>
        JSON.stringify(typeof allowed === "string" ? allowed : JSON.stringify(allowed))
      );
      this.errors.push({
        reason: "FieldValueNotSupported",
        field,
        message: `Unsupported value: ${badValue(value)}: supported values: ${supported.join(", ")}`,
      });
    }
    if (typeof value === "string") this.#string(schema, value, path);
    if (typeof value === "number") this.#number(schema, value, path);
    if (Array.isArray(value)) this.#array(schema, value, old, path);
    if (isObject(value)) this.#object(schema, value, old, path, root);
    this.#rules(schema, value, old, path);
  }

  #string(schema: StructuralSchema, value: string, path: Segment[]): void {
    const length = [...value].length;
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      const unit = schema.maxLength === 1 ? "byte" : "bytes";
      this.errors.push({
        reason: "FieldValueTooLong",
        field: fieldPath(path),
        message: `Too long: may not be more than ${schema.maxLength} ${unit}`,
      });
    }
    if (schema.minLength !== undefined && length < schema.minLength) {
      this.invalid(path, value, `should be at least ${schema.minLength} chars long`);
    }
    if (schema.pattern !== undefined && patternRegExp(schema.pattern)?.test(value) === false) {
      this.invalid(path, value, `should match '${schema.pattern}'`);
    }
  }

  #number(schema: StructuralSchema, value: number, path: Segment[]): void {
    if (schema.maximum !== undefined) {
      if (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum) {
        const relation = schema.exclusiveMaximum ? "less than" : "less than or equal to";
        this.invalid(path, value, `should be ${relation} ${goFloat(schema.maximum)}`);
      }
    }
    if (schema.minimum !== undefined) {
      if (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum) {
        const relation = schema.exclusiveMinimum ? "greater than" : "greater than or equal to";
        this.invalid(path, value, `should be ${relation} ${goFloat(schema.minimum)}`);
      }
    }
    if (schema.multipleOf !== undefined && schema.multipleOf > 0) {
      const ratio = value / schema.multipleOf;
      if (Math.abs(ratio - Math.round(ratio)) > 1e-9) {
        this.invalid(path, value, `should be a multiple of ${goFloat(schema.multipleOf)}`);
      }
    }
  }

  #array(
    schema: StructuralSchema,
    value: unknown[],
    old: { value: unknown } | undefined,
    path: Segment[],
  ): void {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      this.errors.push({
        reason: "FieldValueTooMany",
        field: fieldPath(path),
        message: `Too many: ${value.length}: must have at most ${schema.maxItems} ${
          schema.maxItems === 1 ? "item" : "items"
        }`,
      });
    }
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      this.invalid(path, value.length, `should have at least ${schema.minItems} items`);
    }
    const listType = schema["x-kubernetes-list-type"];
    if (schema.uniqueItems || listType === "set") {
      for (const index of duplicates(value)) {
        this.errors.push({
          reason: "FieldValueDuplicate",
          field: fieldPath([...path, { kind: "index", index }]),
          message: `Duplicate value: ${badValue(value[index])}`,
        });
      }
    }
    const items = itemsOf(schema);
    if (!items) return;
    const keys = schema["x-kubernetes-list-map-keys"] ?? [];
    const oldList = listType === "map" && keys.length > 0 && old && Array.isArray(old.value)
      ? old.value
      : undefined;
    value.forEach((item, index) => {
      const previous = oldList?.find((candidate) =>
        isObject(candidate) && isObject(item) &&
        keys.every((key) => deepEqual(candidate[key], item[key]))
      );
      this.walk(
        items,
        item,
        previous === undefined ? undefined : { value: previous },
        [...path, { kind: "index", index }],
        false,
      );
    });
  }

  #object(
    schema: StructuralSchema,
    value: JsonObject,
    old: { value: unknown } | undefined,
    path: Segment[],
    root: boolean,
  ): void {
    const oldObject = old && isObject(old.value) ? old.value : undefined;
    for (const key of schema.required ?? []) {
      if (root && RESOURCE_FIELDS.has(key)) continue;
      if (!Object.hasOwn(value, key)) {
        this.errors.push({
          reason: "FieldValueRequired",
          field: fieldPath([...path, { kind: "property", name: key }]),
          message: "Required value",
        });
      }
    }
    const count = Object.keys(value).length;
    if (schema.maxProperties !== undefined && count > schema.maxProperties) {
      this.errors.push({
        reason: "FieldValueTooMany",
        field: fieldPath(path),
        message: `Too many: ${count}: must have at most ${schema.maxProperties} ${
          schema.maxProperties === 1 ? "item" : "items"
        }`,
      });
    }
    if (schema.minProperties !== undefined && count < schema.minProperties) {
      this.invalid(path, count, `should have at least ${schema.minProperties} properties`);
    }
    const properties = schema.properties ?? {};
    const additional = additionalOf(schema);
    for (const [key, item] of Object.entries(value)) {
      if (root && RESOURCE_FIELDS.has(key)) continue;
      const previous = oldObject && Object.hasOwn(oldObject, key)
        ? { value: oldObject[key] }
        : undefined;
      if (Object.hasOwn(properties, key)) {
        this.walk(node(properties[key])!, item, previous, [...path, {
          kind: "property",
          name: key,
        }], false);
      } else if (typeof additional === "object") {
        this.walk(additional, item, previous, [...path, { kind: "key", name: key }], false);
      }
    }
  }

  #rules(
    schema: StructuralSchema,
    value: unknown,
    old: { value: unknown } | undefined,
    path: Segment[],
  ): void {
    for (const rule of schema["x-kubernetes-validations"] ?? []) {
      const compiled = program(rule.rule);
      if (!compiled || (compiled.usesOldSelf && old === undefined)) continue;
      const target = rule.fieldPath
        ? `${fieldPath(path) === "<nil>" ? "" : fieldPath(path)}${rule.fieldPath}`
        : fieldPath(path);
      const type = schema["x-kubernetes-int-or-string"] ? "" : schema.type ?? "";
      const variables = old === undefined ? { self: value } : { self: value, oldSelf: old.value };
      let result: unknown;
      try {
        result = compiled.evaluate(variables);
      } catch (error) {
        this.ruleErrors.push({
          reason: "FieldValueInvalid",
          field: target,
          message: `Invalid value: "${type}": ${
            (error as Error).message
          } evaluating rule: ${rule.rule.trim()}`,
        });
        continue;
      }
      if (result === true) continue;
      const detail = this.#message(rule, variables);
      this.ruleErrors.push(ruleError(rule.reason, target, type, detail));
    }
  }

  #message(rule: ValidationRule, variables: Record<string, unknown>): string {
    if (rule.messageExpression) {
      const compiled = program(rule.messageExpression);
      try {
        const text = compiled?.evaluate(variables);
        if (typeof text === "string" && text.trim() !== "" && !text.includes("\n")) return text;
      } catch {
        // kube falls back to the static message when messageExpression fails.
      }
    }
    return rule.message || `failed rule: ${rule.rule.trim()}`;
  }
}

function ruleError(
  reason: string | undefined,
  field: string,
  type: string,
  detail: string,
): FieldError {
  switch (reason) {
    case "FieldValueRequired":
      return { reason, field, message: `Required value: ${detail}` };
    case "FieldValueForbidden":
      return { reason, field, message: `Forbidden: ${detail}` };
    case "FieldValueDuplicate":
      return { reason, field, message: `Duplicate value: "${type}"` };
    default:
      return { reason: "FieldValueInvalid", field, message: `Invalid value: "${type}": ${detail}` };
  }
}

/**
 * Validates a (pruned, defaulted) custom resource against its schema and returns every
 * problem, worded as kube-apiserver words it. `x-kubernetes-validations` rules run last and
 * only when no type or enum error was found (kube adds the same "some validation rules were
 * not checked" cause then); rules using `oldSelf` run only when `oldValue` is given and has
 * a value at that path. Rules outside the CEL subset of cel.ts are skipped (logged once).
 * Not done: validation ratcheting of unchanged invalid fields on update.
 */
export function validate(
  schema: JSONSchemaProps,
  value: unknown,
  options: { oldValue?: unknown } = {},
): FieldError[] {
  const validator = new Validator();
  const old = options.oldValue === undefined ? undefined : { value: options.oldValue };
  validator.walk(schema as StructuralSchema, value, old, [], true);
  const blocking = validator.errors.some((error) =>
    error.reason === "FieldValueTypeInvalid" || error.reason === "FieldValueNotSupported"
  );
  if (!blocking) return [...validator.errors, ...validator.ruleErrors];
  if (validator.ruleErrors.length === 0 && !hasRules(schema as StructuralSchema)) {
    return validator.errors;
  }
  return [...validator.errors, {
    reason: "FieldValueInvalid",
    field: "<nil>",
    message:
      "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
  }];
}

function hasRules(schema: StructuralSchema | undefined): boolean {
  if (!schema) return false;
  if ((schema["x-kubernetes-validations"] ?? []).length > 0) return true;
  const additional = additionalOf(schema);
  return Object.values(schema.properties ?? {}).some((child) => hasRules(node(child))) ||
    hasRules(itemsOf(schema)) || (typeof additional === "object" && hasRules(additional));
}
