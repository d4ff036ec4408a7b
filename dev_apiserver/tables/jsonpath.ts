// Evaluates the kubectl-style JSONPath subset that CRD printer columns use, so the dev API
// server can fill Table cells exactly where kube-apiserver would find values.
import { isObject } from "../storage/objects.ts";

/** A JSONPath expression that cannot be parsed. */
export class JsonPathError extends Error {
  /** Builds the error from the expression and what is wrong with it. */
  constructor(path: string, reason: string) {
    super(`invalid JSONPath ${JSON.stringify(path)}: ${reason}`);
    this.name = "JsonPathError";
  }
}

type Filter = { path: Segment[]; op?: string; literal?: unknown };
type Segment =
  | { kind: "field"; name: string }
  | { kind: "wildcard" }
  | { kind: "recursive"; name?: string }
  | { kind: "index"; start?: number; end?: number; single: boolean }
  | { kind: "filter"; filter: Filter };

function parse(path: string, source: string): Segment[] {
  const segments: Segment[] = [];
  let i = 0;
  const fail = (reason: string): never => {
    throw new JsonPathError(path, reason);
  };
  const name = (): string => {
    const match = /^[^.[\]\s()=!<>"']+/.exec(source.slice(i));
    if (!match) fail(`expected a field name at ${i}`);
    i += match![0].length;
    return match![0];
  };
  while (i < source.length) {
    if (source.startsWith("..", i)) {
      i += 2;
      if (source[i] === "*") {
        i++;
        segments.push({ kind: "recursive" });
      } else {
        segments.push({ kind: "recursive", name: name() });
      }
    } else if (source[i] === ".") {
      i++;
      if (source[i] === "*") {
        i++;
        segments.push({ kind: "wildcard" });
      } else if (source[i] !== "[" && i < source.length) {
        segments.push({ kind: "field", name: name() });
      }
    } else if (source[i] === "[") {
      const close = findClose(source, i);
      if (close < 0) fail("unclosed [");
      const inner = source.slice(i + 1, close).trim();
      i = close + 1;
      segments.push(bracket(path, inner));
    } else if (segments.length === 0 && /[A-Za-z_]/.test(source[i])) {
      segments.push({ kind: "field", name: name() });
    } else {
      fail(`unexpected ${JSON.stringify(source[i])} at ${i}`);
    }
  }
  return segments;
}

function findClose(source: string, open: number): number {
  let depth = 0;
  let quote = "";
  for (let i = open; i < source.length; i++) {
    const char = source[i];
    if (quote) {
      if (char === "\\") i++;
      else if (char === quote) quote = "";
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === "[") {
      depth++;
    } else if (char === "]" && --depth === 0) {
      return i;
    }
  }
  return -1;
}

function bracket(path: string, inner: string): Segment {
  if (inner === "*") return { kind: "wildcard" };
  const quoted = /^(['"])(.*)\1$/.exec(inner);
  if (quoted) return { kind: "field", name: quoted[2] };
  if (/^-?\d+$/.test(inner)) return { kind: "index", start: Number(inner), single: true };
  const slice = /^(-?\d+)?:(-?\d+)?(:\d+)?$/.exec(inner);
  if (slice) {
    return {
      kind: "index",
      start: slice[1] === undefined ? undefined : Number(slice[1]),
      end: slice[2] === undefined ? undefined : Number(slice[2]),
      single: false,
    };
  }
  const filter = /^\?\((.*)\)$/.exec(inner);
  if (!filter) throw new JsonPathError(path, `unsupported [${inner}]`);
  const comparison = /^@(\S*?)\s*(==|!=|<=|>=|<|>)\s*(.+)$/.exec(filter[1].trim());
  if (!comparison) {
    const exists = /^@(\S*)$/.exec(filter[1].trim());
    if (!exists) throw new JsonPathError(path, `unsupported filter ${filter[1]}`);
    return { kind: "filter", filter: { path: parse(path, exists[1]) } };
  }
  const [, sub, op, raw] = comparison;
  let literal: unknown;
  const text = raw.trim();
  const string = /^(['"])(.*)\1$/.exec(text);
  if (string) literal = string[2];
  else if (text === "true" || text === "false") literal = text === "true";
  else if (!Number.isNaN(Number(text))) literal = Number(text);
  else throw new JsonPathError(path, `unsupported filter value ${text}`);
  return { kind: "filter", filter: { path: parse(path, sub), op, literal } };
}

function children(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (isObject(value)) return Object.keys(value).sort().map((key) => value[key]);
  return [];
}

function descendants(value: unknown): unknown[] {
  return [value, ...children(value).flatMap(descendants)];
}

function step(segment: Segment, value: unknown): unknown[] {
  switch (segment.kind) {
    case "field":
      return isObject(value) && Object.hasOwn(value, segment.name) ? [value[segment.name]] : [];
    case "wildcard":
      return children(value);
    case "recursive":
      return descendants(value).flatMap((node) =>
        segment.name === undefined
          ? children(node)
          : step({ kind: "field", name: segment.name! }, node)
      );
    case "index": {
      if (!Array.isArray(value)) return [];
      const length = value.length;
      const resolve = (index: number) => (index < 0 ? index + length : index);
      if (segment.single) {
        const index = resolve(segment.start!);
        return index >= 0 && index < length ? [value[index]] : [];
      }
      const start = Math.max(0, segment.start === undefined ? 0 : resolve(segment.start));
      const end = Math.min(length, segment.end === undefined ? length : resolve(segment.end));
      return value.slice(start, end);
    }
    case "filter":
      return children(value).filter((item) => matches(segment.filter, item));
  }
}

function matches(filter: Filter, item: unknown): boolean {
  const found = run(filter.path, item);
  if (filter.op === undefined) return found.length > 0;
  return found.some((value) => {
    const literal = filter.literal;
    switch (filter.op) {
      case "==":
        return value === literal;
      case "!=":
        return value !== literal;
      default: {
        if (typeof value !== typeof literal || typeof value === "boolean") return false;
        const [a, b] = [value as number | string, literal as number | string];
        if (filter.op === "<") return a < b;
        if (filter.op === "<=") return a <= b;
        if (filter.op === ">") return a > b;
        return a >= b;
      }
    }
  });
}

function run(segments: Segment[], value: unknown): unknown[] {
  let current = [value];
  for (const segment of segments) current = current.flatMap((node) => step(segment, node));
  return current;
}

/**
 * Evaluates a kubectl-style JSONPath (`.spec.plan`, `{.metadata.name}`, `[0]`, `[*]`, `[1:3]`,
 * `['a.b']`, `..name`, `[?(@.type=="Ready")]`) and returns every match (none: `[]`).
 * Throws {@linkcode JsonPathError} on syntax it does not support.
 */
export function evaluateJsonPath(path: string, value: unknown): unknown[] {
  let source = path.trim();
  if (source.startsWith("{") && source.endsWith("}")) source = source.slice(1, -1).trim();
  if (source.startsWith("$")) source = source.slice(1);
  return run(parse(path, source), value);
}
