// Object metadata validation worded like kube-apiserver (DNS-1123 names, label keys and values).
import type { StatusCause } from "./status.ts";
import type { KubeObject } from "./types.ts";

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

function invalidValue(field: string, value: unknown, detail: string): StatusCause {
  return {
    reason: "FieldValueInvalid",
    field,
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  };
}

/** Options of {@linkcode validateName}. */
export interface ValidateNameOptions {
  /** The field named in the causes; `metadata.name` when not given. */
  field?: string;
}

/** Problems with a name under a rule (empty list = valid). */
export function validateName(
  name: string,
  rule: "label" | "subdomain" | "path",
  options: ValidateNameOptions = {},
): StatusCause[] {
  const { field = "metadata.name" } = options;
  if (rule === "path") {
    if (name === "." || name === "..") {
      return [invalidValue(field, name, `may not be '${name}'`)];
    }
    for (const bad of ["/", "%"]) {
      if (name.includes(bad)) return [invalidValue(field, name, `may not contain '${bad}'`)];
    }
    return [];
  }
  const max = rule === "label" ? 63 : 253;
  const causes: StatusCause[] = [];
  if (name.length > max) {
    causes.push(invalidValue(field, name, `must be no more than ${max} characters`));
  }
  if (!(rule === "label" ? LABEL : SUBDOMAIN).test(name)) {
    causes.push(invalidValue(field, name, rule === "label" ? LABEL_MESSAGE : SUBDOMAIN_MESSAGE));
  }
  return causes;
}

function validateQualifiedName(key: string, field: string): StatusCause[] {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : "";
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const causes: StatusCause[] = [];
  if (slash >= 0) {
    if (prefix.length === 0) causes.push(invalidValue(field, key, "prefix part must be non-empty"));
    else if (!SUBDOMAIN.test(prefix) || prefix.length > 253) {
      causes.push(invalidValue(field, key, `prefix part ${SUBDOMAIN_MESSAGE}`));
    }
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    causes.push(
      invalidValue(
        field,
        key,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ),
    );
  }
  return causes;
}

/** Problems with labels, annotations keys and finalizer names of an object. */
export function validateMetadata(object: KubeObject): StatusCause[] {
  const metadata = object.metadata ?? {};
  const causes: StatusCause[] = [];
  for (const [key, value] of Object.entries(metadata.labels ?? {})) {
    causes.push(...validateQualifiedName(key, "metadata.labels"));
    if (typeof value !== "string" || value.length > 63 || !LABEL_VALUE.test(value)) {
      causes.push(
        invalidValue(
          "metadata.labels",
          value,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
  }
  for (const [key, value] of Object.entries(metadata.annotations ?? {})) {
    causes.push(...validateQualifiedName(key.toLowerCase(), "metadata.annotations"));
    if (typeof value !== "string") {
      causes.push(invalidValue("metadata.annotations", value, "must be a string"));
    }
  }
  for (const [i, finalizer] of (metadata.finalizers ?? []).entries()) {
    if (typeof finalizer !== "string") {
      causes.push(invalidValue(`metadata.finalizers[${i}]`, finalizer, "must be a string"));
    } else {
      causes.push(...validateQualifiedName(finalizer, `metadata.finalizers[${i}]`));
    }
  }
  return causes;
}

const GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** `generateName` plus five random characters, as kube names generated objects. */
export function generatedName(prefix: string): string {
  let suffix = "";
  for (let i = 0; i < 5; i++) {
    suffix += GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)];
  }
  return prefix.slice(0, 58) + suffix;
}
