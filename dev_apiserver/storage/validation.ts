// Object metadata validation worded like kube-apiserver (DNS-1123 names, label keys and values).
import type { StatusCause } from "../http/status.ts";
import type { KubeObject } from "../types.ts";

const QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const DNS1123_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/** apimachinery's `validation.RegexError` wording (including its double spaces). */
function regexError(message: string, format: string, ...examples: string[]): string {
  const shown = examples.map((example) => `'${example}', `).join(" or ");
  return `${message} (e.g. ${shown}regex used for validation is '${format}')`;
}

/** A FieldValueInvalid cause worded like kube: `Invalid value: <value>: <detail>`. */
export function invalidValue(field: string, value: unknown, detail: string): StatusCause {
  return {
    reason: "FieldValueInvalid",
    field,
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  };
}

/** apimachinery's `validation.IsQualifiedName`: the problems with a label key, if any. */
export function qualifiedNameErrors(value: string): string[] {
  const errors: string[] = [];
  const parts = value.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) {
      errors.push("prefix part must be non-empty");
    } else {
      if (prefix.length > 253) errors.push("prefix part must be no more than 253 characters");
      if (!DNS1123_SUBDOMAIN.test(prefix)) {
        errors.push(
          "prefix part " + regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"),
        );
      }
    }
  } else {
    return [
      "a qualified name " +
      regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc") +
      " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) {
    errors.push("name part must be non-empty");
  } else if (name.length > 63) {
    errors.push("name part must be no more than 63 characters");
  }
  if (!QUALIFIED_NAME.test(name)) {
    errors.push(
      "name part " +
        regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"),
    );
  }
  return errors;
}

/** apimachinery's `validation.IsValidLabelValue`: the problems with a label value, if any. */
export function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push("must be no more than 63 characters");
  if (!LABEL_VALUE.test(value)) {
    errors.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"));
  }
  return errors;
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
  if (rule === "label" && !DNS1123_LABEL.test(name)) {
    causes.push(
      invalidValue(
        field,
        name,
        regexError(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"),
      ),
    );
  }
  if (rule === "subdomain" && !DNS1123_SUBDOMAIN.test(name)) {
    causes.push(
      invalidValue(
        field,
        name,
        regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"),
      ),
    );
  }
  return causes;
}

function qualifiedNameCauses(key: string, field: string, shown = key): StatusCause[] {
  return qualifiedNameErrors(key).map((message) => invalidValue(field, shown, message));
}

/** Problems with labels, annotations keys and finalizer names of an object. */
export function validateMetadata(object: KubeObject): StatusCause[] {
  const metadata = object.metadata ?? {};
  const causes: StatusCause[] = [];
  for (const [key, value] of Object.entries(metadata.labels ?? {})) {
    causes.push(...qualifiedNameCauses(key, "metadata.labels"));
    const errors = typeof value === "string" ? labelValueErrors(value) : ["must be a string"];
    causes.push(...errors.map((message) => invalidValue("metadata.labels", value, message)));
  }
  for (const [key, value] of Object.entries(metadata.annotations ?? {})) {
    // kube checks annotation keys case-insensitively and reports the key as given
    causes.push(...qualifiedNameCauses(key.toLowerCase(), "metadata.annotations", key));
    if (typeof value !== "string") {
      causes.push(invalidValue("metadata.annotations", value, "must be a string"));
    }
  }
  for (const [i, finalizer] of (metadata.finalizers ?? []).entries()) {
    if (typeof finalizer !== "string") {
      causes.push(invalidValue(`metadata.finalizers[${i}]`, finalizer, "must be a string"));
    } else {
      causes.push(...qualifiedNameCauses(finalizer, `metadata.finalizers[${i}]`));
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
