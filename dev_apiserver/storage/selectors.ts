// Parses and matches label and field selectors exactly like apimachinery, so list and
// watch filtering (and the error messages users see for bad selectors) match kube-apiserver.
import { labelValueErrors, qualifiedNameErrors } from "./validation.ts";

/** A label or field selector that cannot be parsed; the message is worded like kube's. */
export class SelectorError extends Error {
  /** Builds the error from its kube-style message. */
  constructor(message: string) {
    super(message);
    this.name = "SelectorError";
  }
}

/** One requirement of a label selector; `values` is sorted and free of duplicates. */
export interface LabelRequirement {
  key: string;
  operator: "=" | "==" | "!=" | "in" | "notin" | "exists" | "!";
  values: string[];
}

/** A parsed label selector: the AND of its requirements (sorted by key, like kube). */
export interface LabelSelector {
  requirements: LabelRequirement[];
}

/** A parsed field selector: the AND of its requirements (sorted like kube). */
export interface FieldSelector {
  requirements: { field: string; operator: "=" | "==" | "!="; value: string }[];
}

type Token =
  | "end"
  | "("
  | ")"
  | ","
  | "!"
  | "=="
  | "="
  | ">"
  | "<"
  | "!="
  | "in"
  | "notin"
  | "id";

interface Item {
  token: Token;
  literal: string;
}

const SYMBOLS = new Set(["=", "!", "(", ")", ",", ">", "<"]);
const SYMBOL_TOKENS = new Set(["(", ")", ",", "!", "==", "=", ">", "<", "!="]);
const WHITESPACE = new Set([" ", "\t", "\r", "\n"]);
const BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt";

function lex(text: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  while (true) {
    while (pos < text.length && WHITESPACE.has(text[pos])) pos++;
    if (pos >= text.length) {
      items.push({ token: "end", literal: "" });
      return items;
    }
    if (SYMBOLS.has(text[pos])) {
      let buffer = "";
      let last = "";
      while (pos < text.length && SYMBOLS.has(text[pos])) {
        buffer += text[pos];
        if (SYMBOL_TOKENS.has(buffer)) {
          last = buffer;
        } else if (last !== "") {
          break;
        }
        pos++;
      }
      items.push({ token: last as Token, literal: last });
      continue;
    }
    let word = "";
    while (pos < text.length && !SYMBOLS.has(text[pos]) && !WHITESPACE.has(text[pos])) {
      word += text[pos++];
    }
    items.push({ token: word === "in" || word === "notin" ? word : "id", literal: word });
  }
}

/** Go's `%q` for the ASCII strings that can occur here. */
function quote(value: string): string {
  return JSON.stringify(value);
}

class Parser {
  #items: Item[];
  #position = 0;

  constructor(text: string) {
    this.#items = lex(text);
  }

  /** Like kube's lookahead/consume in the Values context: `in`/`notin` read as identifiers. */
  #peek(asValue: boolean): Item {
    const item = this.#items[this.#position];
    return asValue && (item.token === "in" || item.token === "notin")
      ? { token: "id", literal: item.literal }
      : item;
  }

  #next(asValue: boolean): Item {
    const item = this.#peek(asValue);
    this.#position++;
    return item;
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    while (true) {
      const item = this.#peek(true);
      if (item.token === "end") return requirements;
      if (item.token !== "id" && item.token !== "!") {
        throw new SelectorError(
          `found '${item.literal}', expected: !, identifier, or 'end of string'`,
        );
      }
      try {
        requirements.push(this.#requirement());
      } catch (error) {
        if (error instanceof SelectorError) {
          throw new SelectorError(`unable to parse requirement: ${error.message}`);
        }
        throw error;
      }
      const after = this.#next(true);
      if (after.token === "end") return requirements;
      if (after.token !== ",") {
        throw new SelectorError(`found '${after.literal}', expected: ',' or 'end of string'`);
      }
      const following = this.#peek(true);
      if (following.token !== "id" && following.token !== "!") {
        throw new SelectorError(`found '${following.literal}', expected: identifier after ','`);
      }
    }
  }

  #requirement(): LabelRequirement {
    let item = this.#next(true);
    let negated = false;
    if (item.token === "!") {
      negated = true;
      item = this.#next(true);
    }
    if (item.token !== "id") {
      throw new SelectorError(`found '${item.literal}', expected: identifier`);
    }
    const key = item.literal;
    const keyErrors = qualifiedNameErrors(key);
    if (keyErrors.length > 0) {
      throw new SelectorError(`<nil>: Invalid value: ${quote(key)}: ${keyErrors.join("; ")}`);
    }
    const following = this.#peek(true).token;
    if (following === "end" || following === ",") {
      return { key, operator: negated ? "!" : "exists", values: [] };
    }
    const operator = this.#next(false);
    let kind: LabelRequirement["operator"];
    switch (operator.token) {
      case "in":
      case "notin":
      case "=":
      case "==":
      case "!=":
        kind = operator.token;
        break;
      case ">":
      case "<":
        throw new SelectorError(
          `found '${operator.literal}', expected: in, notin, =, ==, != (gt and lt are not served here)`,
        );
      default:
        throw new SelectorError(`found '${operator.literal}', expected: ${BINARY_OPERATORS}`);
    }
    const values = kind === "in" || kind === "notin" ? this.#setValues() : this.#exactValue();
    const sorted = [...new Set(values)].sort();
    const valueErrors: string[] = [];
    sorted.forEach((value, index) => {
      const errors = labelValueErrors(value);
      if (errors.length > 0) {
        valueErrors.push(
          `values[${index}][${key}]: Invalid value: ${quote(value)}: ${errors.join("; ")}`,
        );
      }
    });
    if (valueErrors.length === 1) throw new SelectorError(valueErrors[0]);
    if (valueErrors.length > 1) throw new SelectorError(`[${valueErrors.join(", ")}]`);
    return { key, operator: kind, values: sorted };
  }

  #setValues(): string[] {
    const open = this.#next(true);
    if (open.token !== "(") throw new SelectorError(`found '${open.literal}' expected: '('`);
    const first = this.#peek(true);
    if (first.token === ")") {
      this.#position++;
      return [""];
    }
    if (first.token !== "id" && first.token !== ",") {
      throw new SelectorError(`found '${first.literal}', expected: ',', ')' or identifier`);
    }
    const values = this.#identifierList();
    const close = this.#next(true);
    if (close.token !== ")") {
      throw new SelectorError(`found '${first.literal}', expected: ')'`);
    }
    return values;
  }

  #identifierList(): string[] {
    const values: string[] = [];
    while (true) {
      const item = this.#next(true);
      if (item.token === "id") {
        values.push(item.literal);
        const following = this.#peek(true);
        if (following.token === ",") continue;
        if (following.token === ")") return values;
        throw new SelectorError(`found '${following.literal}', expected: ',' or ')'`);
      }
      if (item.token !== ",") {
        throw new SelectorError(`found '${item.literal}', expected: ',', or identifier`);
      }
      if (values.length === 0) values.push("");
      const following = this.#peek(true);
      if (following.token === ")") {
        values.push("");
        return values;
      }
      if (following.token === ",") {
        this.#position++;
        values.push("");
      }
    }
  }

  #exactValue(): string[] {
    const item = this.#peek(true);
    if (item.token === "end" || item.token === ",") return [""];
    this.#position++;
    if (item.token === "id") return [item.literal];
    throw new SelectorError(`found '${item.literal}', expected: identifier`);
  }
}

/**
 * Parses a label selector (`labelSelector=` query value) with kube's grammar:
 * `key`, `!key`, `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`,
 * comma-separated. `""` selects everything. Throws {@linkcode SelectorError}.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const requirements = new Parser(text).parse();
  requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { requirements };
}

/** Whether an object's labels satisfy every requirement of the selector. */
export function matchesLabels(
  selector: LabelSelector,
  labels: Record<string, string> | undefined,
): boolean {
  const set = labels ?? {};
  return selector.requirements.every((requirement) => {
    const has = Object.hasOwn(set, requirement.key);
    switch (requirement.operator) {
      case "=":
      case "==":
      case "in":
        return has && requirement.values.includes(set[requirement.key]);
      case "!=":
      case "notin":
        return !has || !requirement.values.includes(set[requirement.key]);
      case "exists":
        return has;
      case "!":
        return !has;
    }
  });
}

/** Splits on commas that are not escaped with a backslash (kube's `splitTerms`). */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\\") {
      i++;
    } else if (text[i] === ",") {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

function splitTerm(term: string): [string, "!=" | "==" | "=", string] | undefined {
  for (let i = 0; i < term.length; i++) {
    if (term[i] === "\\") {
      i++;
      continue;
    }
    for (const operator of ["!=", "==", "="] as const) {
      if (term.startsWith(operator, i)) {
        return [term.slice(0, i), operator, term.slice(i + operator.length)];
      }
    }
  }
  return undefined;
}

function unescapeValue(value: string): string {
  let result = "";
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (char === "\\") {
      const next = value[i + 1];
      if (next !== "\\" && next !== "," && next !== "=") {
        throw new SelectorError(
          `invalid field selector: invalid escape sequence: ${value.slice(i, i + 2)}`,
        );
      }
      result += next;
      i++;
    } else if (char === "," || char === "=") {
      throw new SelectorError(
        `invalid field selector: unescaped character in value: ${char.charCodeAt(0)}`,
      );
    } else {
      result += char;
    }
  }
  return result;
}

/**
 * Parses a field selector (`fieldSelector=` query value): comma-separated `field=value`,
 * `field==value` or `field!=value` terms, with `\,` `\=` `\\` escapes in values.
 * `""` selects everything. Which fields exist is the caller's business.
 * Throws {@linkcode SelectorError}.
 */
export function parseFieldSelector(text: string): FieldSelector {
  const requirements: FieldSelector["requirements"] = [];
  for (const term of splitTerms(text).sort()) {
    if (term === "") continue;
    const parts = splitTerm(term);
    if (parts === undefined) {
      throw new SelectorError(`invalid selector: '${text}'; can't understand '${term}'`);
    }
    const [field, operator, raw] = parts;
    requirements.push({ field, operator, value: unescapeValue(raw) });
  }
  return { requirements };
}

/** Whether a set of field values satisfies the selector (a missing field reads as `""`). */
export function matchesFields(selector: FieldSelector, fields: Record<string, string>): boolean {
  return selector.requirements.every(({ field, operator, value }) => {
    const actual = Object.hasOwn(fields, field) ? fields[field] : "";
    return operator === "!=" ? actual !== value : actual === value;
  });
}
