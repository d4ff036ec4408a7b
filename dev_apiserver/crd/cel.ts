// A small evaluator for the CEL subset CRD authors use in x-kubernetes-validations, so the
// dev API server can enforce rules such as `self == oldSelf` without a full CEL runtime.
import { deepEqual, isObject } from "../storage/objects.ts";

/** An expression outside the supported CEL subset; callers skip such rules. */
export class CelUnsupportedError extends Error {
  /** Builds the error from the expression and what is not supported in it. */
  constructor(expression: string, reason: string) {
    super(`unsupported CEL expression ${JSON.stringify(expression)}: ${reason}`);
    this.name = "CelUnsupportedError";
  }
}

/** A runtime failure while evaluating a rule (e.g. `no such key: x`), worded like cel-go. */
export class CelEvalError extends Error {
  /** Builds the error from a cel-go style message. */
  constructor(message: string) {
    super(message);
    this.name = "CelEvalError";
  }
}

/** A compiled CEL expression. */
export interface CelProgram {
  /** The source text. */
  readonly expression: string;
  /** Whether the expression mentions `oldSelf` (a transition rule). */
  readonly usesOldSelf: boolean;
  /** Evaluates with the given variables (`self`, `oldSelf`); throws {@linkcode CelEvalError}. */
  evaluate(variables: Record<string, unknown>): unknown;
}

type Node =
  | { type: "literal"; value: unknown }
  | { type: "ident"; name: string }
  | { type: "list"; items: Node[] }
  | { type: "map"; entries: [Node, Node][] }
  | { type: "select"; target: Node; field: string }
  | { type: "index"; target: Node; index: Node }
  | { type: "call"; target?: Node; name: string; args: Node[] }
  | { type: "unary"; op: "!" | "-"; operand: Node }
  | { type: "binary"; op: string; left: Node; right: Node }
  | { type: "ternary"; test: Node; then: Node; else: Node };

interface Token {
  kind: "num" | "str" | "id" | "op" | "end";
  value: string | number;
}

const OPERATORS = [
  "==",
  "!=",
  "<=",
  ">=",
  "&&",
  "||",
  "<",
  ">",
  "+",
  "-",
  "*",
  "/",
  "%",
  "!",
  "?",
  ":",
  ".",
  ",",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
];

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i];
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    if (/[0-9]/.test(char)) {
      const match = /^(0x[0-9a-fA-F]+|[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)[uU]?/.exec(
        source.slice(i),
      )!;
      tokens.push({ kind: "num", value: Number(match[1]) });
      i += match[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(char)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))!;
      tokens.push({ kind: "id", value: match[0] });
      i += match[0].length;
      continue;
    }
    if (char === '"' || char === "'") {
      let raw = false;
      if (tokens.length > 0 && tokens[tokens.length - 1].value === "r") raw = true;
      if (raw) tokens.pop();
      if (source.startsWith(char.repeat(3), i)) throw new SyntaxError("triple-quoted string");
      let value = "";
      i++;
      while (i < source.length && source[i] !== char) {
        if (source[i] === "\\" && !raw) {
          const next = source[i + 1];
          const escapes: Record<string, string> = {
            n: "\n",
            t: "\t",
            r: "\r",
            "\\": "\\",
            '"': '"',
            "'": "'",
          };
          if (!(next in escapes)) throw new SyntaxError(`escape \\${next}`);
          value += escapes[next];
          i += 2;
        } else {
          value += source[i++];
        }
      }
      if (i >= source.length) throw new SyntaxError("unterminated string");
      i++;
      tokens.push({ kind: "str", value });
      continue;
    }
    const op = OPERATORS.find((candidate) => source.startsWith(candidate, i));
    if (op === undefined) throw new SyntaxError(`unexpected character ${char}`);
    tokens.push({ kind: "op", value: op });
    i += op.length;
  }
  tokens.push({ kind: "end", value: "" });
  return tokens;
}

const PRECEDENCE: Record<string, number> = {
  "||": 1,
  "&&": 2,
  "==": 3,
  "!=": 3,
  "<": 3,
  "<=": 3,
  ">": 3,
  ">=": 3,
  in: 3,
  "+": 4,
  "-": 4,
  "*": 5,
  "/": 5,
  "%": 5,
};

class CelParser {
  #tokens: Token[];
  #at = 0;

  constructor(source: string) {
    this.#tokens = tokenize(source);
  }

  parse(): Node {
    const node = this.#expression();
    if (this.#peek().kind !== "end") throw new SyntaxError(`unexpected ${this.#peek().value}`);
    return node;
  }

  #peek(): Token {
    return this.#tokens[this.#at];
  }

  #isOp(value: string): boolean {
    const token = this.#peek();
    return (token.kind === "op" || token.kind === "id") && token.value === value;
  }

  #expect(value: string): void {
    if (!this.#isOp(value)) throw new SyntaxError(`expected ${value}`);
    this.#at++;
  }

  #expression(): Node {
    const test = this.#binary(1);
    if (!this.#isOp("?")) return test;
    this.#at++;
    const then = this.#binary(1);
    this.#expect(":");
    return { type: "ternary", test, then, else: this.#expression() };
  }

  #binary(minimum: number): Node {
    let left = this.#unary();
    while (true) {
      const token = this.#peek();
      const op = String(token.value);
      const precedence = (token.kind === "op" || op === "in") ? PRECEDENCE[op] : undefined;
      if (precedence === undefined || precedence < minimum) return left;
      this.#at++;
      const right = this.#binary(precedence + 1);
      left = { type: "binary", op, left, right };
    }
  }

  #unary(): Node {
    if (this.#isOp("!") || this.#isOp("-")) {
      const op = this.#peek().value as "!" | "-";
      this.#at++;
      return { type: "unary", op, operand: this.#unary() };
    }
    return this.#postfix(this.#primary());
  }

  #postfix(node: Node): Node {
    while (true) {
      if (this.#isOp(".")) {
        this.#at++;
        const name = this.#peek();
        if (name.kind !== "id") throw new SyntaxError("expected a field name");
        this.#at++;
        if (this.#isOp("(")) {
          node = { type: "call", target: node, name: String(name.value), args: this.#args(")") };
        } else {
          node = { type: "select", target: node, field: String(name.value) };
        }
      } else if (this.#isOp("[")) {
        this.#at++;
        const index = this.#expression();
        this.#expect("]");
        node = { type: "index", target: node, index };
      } else {
        return node;
      }
    }
  }

  #args(close: string): Node[] {
    this.#at++;
    const args: Node[] = [];
    while (!this.#isOp(close)) {
      args.push(this.#expression());
      if (!this.#isOp(close)) this.#expect(",");
    }
    this.#at++;
    return args;
  }

  #primary(): Node {
    const token = this.#peek();
    if (token.kind === "num" || token.kind === "str") {
      this.#at++;
      return { type: "literal", value: token.value };
    }
    if (token.kind === "id") {
      this.#at++;
      const name = String(token.value);
      if (name === "true" || name === "false") return { type: "literal", value: name === "true" };
      if (name === "null") return { type: "literal", value: null };
      if (this.#isOp("(")) return { type: "call", name, args: this.#args(")") };
      return { type: "ident", name };
    }
    if (this.#isOp("(")) {
      this.#at++;
      const node = this.#expression();
      this.#expect(")");
      return node;
    }
    if (this.#isOp("[")) return { type: "list", items: this.#args("]") };
    if (this.#isOp("{")) {
      this.#at++;
      const entries: [Node, Node][] = [];
      while (!this.#isOp("}")) {
        const key = this.#expression();
        this.#expect(":");
        entries.push([key, this.#expression()]);
        if (!this.#isOp("}")) this.#expect(",");
      }
      this.#at++;
      return { type: "map", entries };
    }
    throw new SyntaxError(`unexpected ${token.value || "end of expression"}`);
  }
}

const MACROS = new Set(["all", "exists", "exists_one", "map", "filter"]);
const METHODS = new Set([
  "size",
  "startsWith",
  "endsWith",
  "contains",
  "matches",
  "lowerAscii",
  "upperAscii",
  "trim",
  "join",
  ...MACROS,
]);
const FUNCTIONS = new Set(["has", "size", "int", "string", "double", "bool"]);

function check(node: Node, expression: string): void {
  switch (node.type) {
    case "literal":
    case "ident":
      return;
    case "list":
      return node.items.forEach((item) => check(item, expression));
    case "map":
      return node.entries.forEach(([k, v]) => (check(k, expression), check(v, expression)));
    case "select":
      return check(node.target, expression);
    case "index":
      return (check(node.target, expression), check(node.index, expression));
    case "unary":
      return check(node.operand, expression);
    case "binary":
      return (check(node.left, expression), check(node.right, expression));
    case "ternary":
      return (check(node.test, expression),
        check(node.then, expression),
        check(node.else, expression));
    case "call": {
      const known = node.target ? METHODS.has(node.name) : FUNCTIONS.has(node.name);
      if (!known) throw new CelUnsupportedError(expression, `function ${node.name}`);
      if (node.target) check(node.target, expression);
      if (node.name === "has" && node.args[0]?.type !== "select") {
        throw new CelUnsupportedError(expression, "has() needs a field selection");
      }
      if (MACROS.has(node.name) && node.args[0]?.type !== "ident") {
        throw new CelUnsupportedError(expression, `${node.name}() needs a variable name`);
      }
      node.args.forEach((arg) => check(arg, expression));
    }
  }
}

function usesIdent(node: Node, name: string): boolean {
  switch (node.type) {
    case "ident":
      return node.name === name;
    case "literal":
      return false;
    default:
      return Object.values(node).some((child) =>
        Array.isArray(child)
          ? child.flat().some((item) => typeof item === "object" && usesIdent(item, name))
          : typeof child === "object" && child !== null && "type" in child &&
            usesIdent(child as Node, name)
      );
  }
}

/** Compiles an expression; throws {@linkcode CelUnsupportedError} outside the subset. */
export function compileCel(expression: string): CelProgram {
  let root: Node;
  try {
    root = new CelParser(expression).parse();
  } catch (error) {
    if (error instanceof SyntaxError) throw new CelUnsupportedError(expression, error.message);
    throw error;
  }
  check(root, expression);
  return {
    expression,
    usesOldSelf: usesIdent(root, "oldSelf"),
    evaluate: (variables) => evaluate(root, new Map(Object.entries(variables))),
  };
}

function typeName(value: unknown): string {
  if (value === null) return "null_type";
  if (Array.isArray(value)) return "list";
  if (typeof value === "object") return "map";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "double";
  if (typeof value === "boolean") return "bool";
  return typeof value;
}

function noOverload(name: string, ...values: unknown[]): CelEvalError {
  return new CelEvalError(
    `no such overload: ${name}(${values.map(typeName).join(", ")})`,
  );
}

type Scope = Map<string, unknown>;

function evaluate(node: Node, scope: Scope): unknown {
  switch (node.type) {
    case "literal":
      return node.value;
    case "ident":
      if (!scope.has(node.name)) {
        throw new CelEvalError(`undeclared reference to '${node.name}'`);
      }
      return scope.get(node.name);
    case "list":
      return node.items.map((item) => evaluate(item, scope));
    case "map":
      return Object.fromEntries(
        node.entries.map(([k, v]) => [String(evaluate(k, scope)), evaluate(v, scope)]),
      );
    case "select": {
      const target = evaluate(node.target, scope);
      if (!isObject(target)) throw noOverload(`_.${node.field}`, target);
      if (!Object.hasOwn(target, node.field)) {
        throw new CelEvalError(`no such key: ${node.field}`);
      }
      return target[node.field];
    }
    case "index": {
      const target = evaluate(node.target, scope);
      const index = evaluate(node.index, scope);
      if (Array.isArray(target) && typeof index === "number") {
        if (index < 0 || index >= target.length) {
          throw new CelEvalError(`index out of bounds: ${index}`);
        }
        return target[index];
      }
      if (isObject(target) && typeof index === "string") {
        if (!Object.hasOwn(target, index)) throw new CelEvalError(`no such key: ${index}`);
        return target[index];
      }
      throw noOverload("_[_]", target, index);
    }
    case "unary": {
      const value = evaluate(node.operand, scope);
      if (node.op === "!") {
        if (typeof value !== "boolean") throw noOverload("!_", value);
        return !value;
      }
      if (typeof value !== "number") throw noOverload("-_", value);
      return -value;
    }
    case "ternary": {
      const test = evaluate(node.test, scope);
      if (typeof test !== "boolean") throw noOverload("_?_:_", test);
      return evaluate(test ? node.then : node.else, scope);
    }
    case "binary":
      return binary(node.op, node.left, node.right, scope);
    case "call":
      return call(node, scope);
  }
}

function logical(op: string, left: Node, right: Node, scope: Scope): boolean {
  // CEL's && and || are commutative over errors: a decisive side wins even if the other fails.
  const decisive = op === "||";
  let failure: unknown;
  for (const side of [left, right]) {
    try {
      const value = evaluate(side, scope);
      if (typeof value !== "boolean") throw noOverload(`_${op}_`, value);
      if (value === decisive) return decisive;
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
  return !decisive;
}

function binary(op: string, leftNode: Node, rightNode: Node, scope: Scope): unknown {
  if (op === "&&" || op === "||") return logical(op, leftNode, rightNode, scope);
  const left = evaluate(leftNode, scope);
  const right = evaluate(rightNode, scope);
  switch (op) {
    case "==":
      return deepEqual(left, right);
    case "!=":
      return !deepEqual(left, right);
    case "in":
      if (Array.isArray(right)) return right.some((item) => deepEqual(item, left));
      if (isObject(right) && typeof left === "string") return Object.hasOwn(right, left);
      throw noOverload("@in", left, right);
    case "<":
    case "<=":
    case ">":
    case ">=": {
      const comparable = (typeof left === "number" && typeof right === "number") ||
        (typeof left === "string" && typeof right === "string");
      if (!comparable) throw noOverload(`_${op}_`, left, right);
      const [a, b] = [left as number | string, right as number | string];
      return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
    }
    case "+":
      if (typeof left === "number" && typeof right === "number") return left + right;
      if (typeof left === "string" && typeof right === "string") return left + right;
      if (Array.isArray(left) && Array.isArray(right)) return [...left, ...right];
      throw noOverload("_+_", left, right);
    default: {
      if (typeof left !== "number" || typeof right !== "number") {
        throw noOverload(`_${op}_`, left, right);
      }
      if ((op === "/" || op === "%") && right === 0) {
        throw new CelEvalError(op === "/" ? "division by zero" : "modulus by zero");
      }
      const integers = Number.isInteger(left) && Number.isInteger(right);
      if (op === "-") return left - right;
      if (op === "*") return left * right;
      if (op === "/") return integers ? Math.trunc(left / right) : left / right;
      return left % right;
    }
  }
}

function size(value: unknown): number {
  if (typeof value === "string") return [...value].length;
  if (Array.isArray(value)) return value.length;
  if (isObject(value)) return Object.keys(value).length;
  throw noOverload("size", value);
}

function call(node: Extract<Node, { type: "call" }>, scope: Scope): unknown {
  if (!node.target) {
    if (node.name === "has") {
      const select = node.args[0] as Extract<Node, { type: "select" }>;
      const target = evaluate(select.target, scope);
      if (!isObject(target)) throw noOverload("has", target);
      return Object.hasOwn(target, select.field);
    }
    const value = evaluate(node.args[0], scope);
    switch (node.name) {
      case "size":
        return size(value);
      case "string":
        return typeof value === "object" ? JSON.stringify(value) : String(value);
      case "bool":
        if (typeof value === "boolean") return value;
        if (value === "true" || value === "false") return value === "true";
        throw noOverload("bool", value);
      default: {
        const number = Number(value);
        if (typeof value === "object" || Number.isNaN(number)) throw noOverload(node.name, value);
        return node.name === "int" ? Math.trunc(number) : number;
      }
    }
  }
  const target = evaluate(node.target, scope);
  if (MACROS.has(node.name)) return macro(node, target, scope);
  if (node.name === "size") return size(target);
  const args = node.args.map((arg) => evaluate(arg, scope));
  if (node.name === "join") return join(target, args);
  if (typeof target !== "string") throw noOverload(node.name, target);
  const argument = args[0];
  switch (node.name) {
    case "lowerAscii":
      return target.replace(/[A-Z]/g, (c) => c.toLowerCase());
    case "upperAscii":
      return target.replace(/[a-z]/g, (c) => c.toUpperCase());
    case "trim":
      return target.trim();
  }
  if (typeof argument !== "string") throw noOverload(node.name, target, argument);
  switch (node.name) {
    case "startsWith":
      return target.startsWith(argument);
    case "endsWith":
      return target.endsWith(argument);
    case "contains":
      return target.includes(argument);
    default:
      try {
        return new RegExp(argument, "u").test(target);
      } catch {
        throw new CelEvalError(`invalid regular expression: ${argument}`);
      }
  }
}

/** `list.join()` and `list.join(separator)` of cel-go's strings extension (a list of strings). */
function join(target: unknown, args: unknown[]): string {
  const separator = args.length === 0 ? "" : args[0];
  if (
    !Array.isArray(target) || args.length > 1 || typeof separator !== "string" ||
    !target.every((item) => typeof item === "string")
  ) {
    throw noOverload("join", target, ...args);
  }
  return target.join(separator);
}

function macro(node: Extract<Node, { type: "call" }>, target: unknown, scope: Scope): unknown {
  const variable = (node.args[0] as Extract<Node, { type: "ident" }>).name;
  const body = node.args[1];
  if (body === undefined) throw new CelEvalError(`${node.name}() needs a predicate`);
  let items: unknown[];
  if (Array.isArray(target)) items = target;
  else if (isObject(target)) items = Object.keys(target);
  else throw noOverload(node.name, target);
  const run = (item: unknown): unknown => {
    const inner = new Map(scope);
    inner.set(variable, item);
    return evaluate(body, inner);
  };
  const predicate = (item: unknown): boolean => {
    const result = run(item);
    if (typeof result !== "boolean") throw noOverload(node.name, result);
    return result;
  };
  switch (node.name) {
    case "all":
      return items.every(predicate);
    case "exists":
      return items.some(predicate);
    case "exists_one":
      return items.filter(predicate).length === 1;
    case "filter":
      return items.filter(predicate);
    default:
      return items.map(run);
  }
}
