// docs/api.md, the Tenant API reference, generated so that it cannot drift from what it describes:
// fields and printer columns from the CRD (deploy/crd.yaml), conditions, reasons and Event reasons
// with the JSDoc of lib/api/conditions.ts.
import { parse } from "yaml";
import { ConditionType, EventReason, Reason } from "../../lib/api/mod.ts";

const ROOT = new URL("../../", import.meta.url);
const CRD_PATH = "deploy/crd.yaml";
const CONDITIONS_PATH = "lib/api/conditions.ts";

/** The parts of an OpenAPI v3 schema the reference shows. */
interface Schema {
  description?: string;
  type?: string;
  format?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  maxLength?: number;
  minLength?: number;
  minimum?: number;
  "x-kubernetes-validations"?: { rule: string; message?: string }[];
  "x-kubernetes-list-type"?: string;
  "x-kubernetes-list-map-keys"?: string[];
}

/** A CRD printer column. */
interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** The parts of the CRD the reference reads. */
interface Crd {
  spec: {
    group: string;
    scope: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: string[];
    };
    versions: {
      name: string;
      additionalPrinterColumns?: PrinterColumn[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

/** Thrown when the sources of the reference are not in the shape it reads. */
export class ReferenceSourceError extends Error {
  /** Builds the error naming the source file and the problem. */
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = "ReferenceSourceError";
  }
}

/** One documented member of a vocabulary object such as `Reason`. */
export interface VocabularyEntry {
  /** The member's value (its key too). */
  value: string;
  /** Its JSDoc, on one line. */
  doc: string;
}

/** Joins a JSDoc comment's text into one line. */
function docText(comment: string): string {
  return comment.split("\n").map((line) => line.replace(/^\s*\*?\s?/, "").trim())
    .filter((line) => line !== "").join(" ");
}

/**
 * The documented members of `export const name = { ... } as const` in `source`, each with its
 * JSDoc; fails naming a member without one, or members that differ from `runtime` (the object as
 * imported), so the reference and the code cannot disagree.
 */
export function vocabulary(
  source: string,
  name: string,
  runtime: Record<string, string>,
): VocabularyEntry[] {
  const block = new RegExp(`export const ${name} = \\{([\\s\\S]*?)\\n\\} as const;`).exec(source);
  if (!block) throw new ReferenceSourceError(CONDITIONS_PATH, `no "export const ${name} = {...}"`);
  const entries: VocabularyEntry[] = [];
  const member = /(?:\/\*\*([\s\S]*?)\*\/\s*)?(\w+): "(\w+)",/g;
  for (const match of block[1].matchAll(member)) {
    const [, comment, key, value] = match;
    if (comment === undefined) {
      throw new ReferenceSourceError(CONDITIONS_PATH, `${name}.${key} has no JSDoc`);
    }
    if (key !== value) {
      throw new ReferenceSourceError(CONDITIONS_PATH, `${name}.${key} is "${value}"`);
    }
    entries.push({ value, doc: docText(comment) });
  }
  const found = entries.map((entry) => entry.value);
  if (JSON.stringify(found) !== JSON.stringify(Object.values(runtime))) {
    throw new ReferenceSourceError(
      CONDITIONS_PATH,
      `${name}: read ${found.join(", ")} but the module exports ${
        Object.values(runtime).join(", ")
      }`,
    );
  }
  return entries;
}

/** Escapes a table cell. */
function cell(text: string): string {
  return text.replace(/\s+/g, " ").replace(/\|/g, "\\|").trim();
}

/** A value in code style, with backticks that cannot break the cell. */
function code(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** The type of a schema, as the reference shows it. */
function typeOf(schema: Schema): string {
  if (schema.type === "array") return `[]${schema.items ? typeOf(schema.items) : "?"}`;
  return schema.format ? `${schema.type} (${schema.format})` : schema.type ?? "any";
}

/** The validation of a field, in words. */
function constraints(schema: Schema, required: boolean): string {
  const parts: string[] = [];
  if (required) parts.push("required");
  if (schema.enum) parts.push(`one of ${schema.enum.map(code).join(", ")}`);
  if (schema.default !== undefined) parts.push(`default ${code(schema.default)}`);
  if (schema.pattern !== undefined) parts.push(`pattern ${code(schema.pattern)}`);
  const characters = (n: number) => `${n} character${n === 1 ? "" : "s"}`;
  if (schema.minLength !== undefined) parts.push(`at least ${characters(schema.minLength)}`);
  if (schema.maxLength !== undefined) parts.push(`at most ${characters(schema.maxLength)}`);
  if (schema.minimum !== undefined) parts.push(`minimum ${schema.minimum}`);
  if (schema["x-kubernetes-list-type"] === "map") {
    parts.push(
      `a map keyed by ${(schema["x-kubernetes-list-map-keys"] ?? []).map(code).join(", ")}`,
    );
  }
  for (const rule of schema["x-kubernetes-validations"] ?? []) {
    parts.push(`rule ${code(rule.rule)}${rule.message ? ` (${rule.message})` : ""}`);
  }
  return parts.join("; ");
}

/** One table row per field under `schema`, depth first, paths like `spec.userId`. */
function fieldRows(schema: Schema, path: string): string[] {
  const rows: string[] = [];
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const fieldPath = path === "" ? name : `${path}.${name}`;
    const required = schema.required?.includes(name) ?? false;
    rows.push(
      `| ${code(fieldPath)} | ${typeOf(field)} | ${cell(constraints(field, required))} | ${
        cell(field.description ?? "")
      } |`,
    );
    rows.push(...fieldRows(field, fieldPath));
    if (field.type === "array" && field.items) {
      rows.push(...fieldRows(field.items, `${fieldPath}[]`));
    }
  }
  return rows;
}

/** The reference's markdown (before `deno fmt`). */
export async function apiReference(): Promise<string> {
  const crd = parse(await Deno.readTextFile(new URL(CRD_PATH, ROOT))) as Crd;
  const source = await Deno.readTextFile(new URL(CONDITIONS_PATH, ROOT));
  const { group, scope, names, versions } = crd.spec;
  if (versions.length !== 1) throw new ReferenceSourceError(CRD_PATH, "expected one version");
  const [version] = versions;
  const root = version.schema.openAPIV3Schema;
  const spec = root.properties?.spec;
  const status = root.properties?.status;
  if (!spec || !status) throw new ReferenceSourceError(CRD_PATH, "no spec or status schema");
  const header = "| field | type | validation | description |\n| --- | --- | --- | --- |";
  const table = (entries: VocabularyEntry[], heading: string) =>
    [
      `| ${heading} | meaning |`,
      "| --- | --- |",
      ...entries.map((entry) => `| ${code(entry.value)} | ${cell(entry.doc)} |`),
    ].join("\n");
  const columns = version.additionalPrinterColumns ?? [];
  return `<!-- Generated by \`deno task generate\` from ${CRD_PATH} and ${CONDITIONS_PATH}; edit those, then regenerate. -->

# Tenant API reference

\`${group}/${version.name}\`, kind \`${names.kind}\` (list \`${names.listKind}\`), ${
    scope === "Cluster" ? "cluster-scoped" : "namespaced"
  }; resource \`${names.plural}\`, singular \`${names.singular}\`${
    names.shortNames?.length ? `, short names ${names.shortNames.map(code).join(", ")}` : ""
  }. ${root.description ?? ""}

The schema is the CRD's (\`${CRD_PATH}\`), enforced by the API server; \`kubectl explain tenant.spec\`
shows the same descriptions. The status is written by the operator only, through the status
subresource.

## spec

${spec.description ?? ""}

${header}
${fieldRows(spec, "spec").join("\n")}

## status

${status.description ?? ""}

${header}
${fieldRows(status, "status").join("\n")}

## kubectl get tenants

| column | shown | JSONPath | description |
| --- | --- | --- | --- |
${
    columns.map((column) =>
      `| ${column.name} | ${(column.priority ?? 0) > 0 ? "with \`-o wide\`" : "always"} | ${
        code(column.jsonPath)
      } | ${cell(column.description ?? "")} |`
    ).join("\n")
  }

## Conditions

Every condition has the \`metav1.Condition\` shape; \`lastTransitionTime\` moves only when the
status does. \`kubectl wait --for=condition=TenantReady tenant/NAME\` waits for a tenant.

${table(vocabulary(source, "ConditionType", ConditionType), "type")}

## Reasons

The \`reason\` of a condition. A condition other than \`TenantReady\` turning \`False\` is also a
\`Warning\` Event with its reason and message; \`TenantReady\` turning \`True\` is a \`Normal\` Event
with reason \`${Reason.Ready}\`. A reconcile that changes nothing records no Event.

${table(vocabulary(source, "Reason", Reason), "reason")}

## Event reasons

What the operator did, as \`Normal\` Events on the Tenant (in the \`default\` namespace, as for
every cluster-scoped object), except \`${EventReason.InvalidPlanCatalogue}\`, a \`Warning\` on the
plan catalogue ConfigMap. Repeats of an Event bump its \`count\`.

${table(vocabulary(source, "EventReason", EventReason), "reason")}
`;
}
