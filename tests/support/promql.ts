// The vector selectors of a PromQL expression (`up{job="x"}`, `kleff_tenants`), found by a small
// lexer, so that the monitoring tests can check that what a dashboard panel or an alert reads
// exists in a real Prometheus even when the whole expression legitimately returns nothing.

/** Words that are never metric names: keywords, and modifiers followed by a label list. */
const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "inf",
  "nan",
]);
/** Aggregation operators, which may be followed by `by (...)` before their parenthesis. */
const AGGREGATIONS = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "group",
  "stddev",
  "stdvar",
  "count",
  "count_values",
  "bottomk",
  "topk",
  "quantile",
]);
const LABEL_LIST_MODIFIERS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
]);

/** One vector selector: the metric name (if any) and the full selector text. */
export interface VectorSelector {
  /** The metric name, or `undefined` for a selector of matchers only (`{job="x"}`). */
  metric?: string;
  /** The selector as written, without a range or offset, e.g. `up{job="x"}`. */
  text: string;
}

/** Thrown for an expression the lexer cannot read (an unclosed string, brace or paren). */
export class PromqlLexError extends Error {
  /** Builds the error naming the expression and the problem. */
  constructor(expr: string, problem: string) {
    super(`${problem} in PromQL expression: ${expr}`);
    this.name = "PromqlLexError";
  }
}

/** The index just past the string literal that starts at `start`. */
function skipString(expr: string, start: number): number {
  const quote = expr[start];
  let i = start + 1;
  while (i < expr.length && expr[i] !== quote) i += quote !== "`" && expr[i] === "\\" ? 2 : 1;
  if (i >= expr.length) throw new PromqlLexError(expr, "unclosed string");
  return i + 1;
}

/** The index just past the bracket group (`{...}`, `(...)`, `[...]`) that starts at `start`. */
function skipGroup(expr: string, start: number): number {
  const close = ({ "{": "}", "(": ")", "[": "]" } as Record<string, string>)[expr[start]];
  let i = start + 1;
  while (i < expr.length && expr[i] !== close) {
    if (expr[i] === '"' || expr[i] === "'" || expr[i] === "`") i = skipString(expr, i);
    else if (expr[i] === "{" || expr[i] === "(" || expr[i] === "[") i = skipGroup(expr, i);
    else i++;
  }
  if (i >= expr.length) throw new PromqlLexError(expr, `unclosed ${expr[start]}`);
  return i + 1;
}

/** The index of the next character that is not white space or a comment. */
function skipSpace(expr: string, start: number): number {
  let i = start;
  while (i < expr.length) {
    if (/\s/.test(expr[i])) i++;
    else if (expr[i] === "#") { while (i < expr.length && expr[i] !== "\n") i++; }
    else break;
  }
  return i;
}

/** Every vector selector of `expr`, in order of appearance (repeats included). */
export function vectorSelectors(expr: string): VectorSelector[] {
  const found: VectorSelector[] = [];
  let depth = 0;
  let i = 0;
  while (i < expr.length) {
    const char = expr[i];
    if (char === "(" || char === ")") {
      depth += char === "(" ? 1 : -1;
      if (depth < 0) throw new PromqlLexError(expr, "unopened )");
      i++;
    } else if (char === '"' || char === "'" || char === "`") {
      i = skipString(expr, i);
    } else if (char === "#") {
      i = skipSpace(expr, i);
    } else if (char === "[") {
      i = skipGroup(expr, i); // a range or subquery: durations, not metrics
    } else if (char === "{") {
      const end = skipGroup(expr, i);
      found.push({ text: expr.slice(i, end) });
      i = end;
    } else if (/[0-9.]/.test(char)) {
      i++;
      while (i < expr.length && /[0-9a-zA-Z_.]/.test(expr[i])) i++; // 0.99, 1e3, 5m
    } else if (/[a-zA-Z_:]/.test(char)) {
      const start = i;
      while (i < expr.length && /[a-zA-Z0-9_:]/.test(expr[i])) i++;
      const word = expr.slice(start, i);
      const next = skipSpace(expr, i);
      if (LABEL_LIST_MODIFIERS.has(word)) {
        if (expr[next] === "(") i = skipGroup(expr, next);
      } else if (
        KEYWORDS.has(word.toLowerCase()) || AGGREGATIONS.has(word) || expr[next] === "("
      ) {
        // A keyword, or a function or aggregation name: its arguments are lexed as they come.
      } else if (expr[next] === "{") {
        i = skipGroup(expr, next);
        found.push({ metric: word, text: `${word}${expr.slice(next, i)}` });
      } else {
        found.push({ metric: word, text: word });
      }
    } else {
      i++;
    }
  }
  if (depth > 0) throw new PromqlLexError(expr, "unclosed (");
  return found;
}
