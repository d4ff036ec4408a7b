// Sets of field paths as server-side apply tracks them (structured-merge-diff's fieldpath.Set):
// the `fieldsV1` of managedFields entries, and set algebra for ownership and conflicts.
import { isObject } from "./objects.ts";

/**
 * One step of a field path, in `fieldsV1` notation: `f:<field>`, `k:<key fields as JSON>` (an item
 * of a list keyed by fields), `v:<value as JSON>` (an item of a set) or `i:<index>`.
 */
export type PathToken = string;

/** Thrown for `fieldsV1` that is not a valid field set. */
export class FieldSetError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "FieldSetError";
  }
}

const KIND_ORDER = "fkvi";

/** structured-merge-diff's order of path elements: fields, then keys, values, indices. */
export function compareTokens(a: PathToken, b: PathToken): number {
  const rank = KIND_ORDER.indexOf(a[0]) - KIND_ORDER.indexOf(b[0]);
  if (rank !== 0) return rank;
  if (a[0] === "i") return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A set of field paths: `members` end at this node, `children` hold longer paths. */
export class FieldSet {
  /** Path tokens that are members of the set at this level. */
  readonly members: Set<PathToken> = new Set();
  /** Paths continuing below a token (only non-empty sets are kept). */
  readonly children: Map<PathToken, FieldSet> = new Map();

  /** Adds a path (an empty path adds nothing). */
  insert(path: readonly PathToken[]): void {
    if (path.length === 0) return;
    this.#nodeAt(path, path.length - 1, true)!.members.add(path[path.length - 1]);
  }

  /** True when the path is a member. */
  has(path: readonly PathToken[]): boolean {
    if (path.length === 0) return false;
    return this.#nodeAt(path, path.length - 1, false)?.members.has(path[path.length - 1]) ?? false;
  }

  /** The node below the first `depth` tokens of `path`, created on the way when `create`. */
  #nodeAt(path: readonly PathToken[], depth: number, create: boolean): FieldSet | undefined {
    // deno-lint-ignore no-this-alias
    let node: FieldSet = this;
    for (let i = 0; i < depth; i++) {
      let child = node.children.get(path[i]);
      if (!child) {
        if (!create) return undefined;
        node.children.set(path[i], child = new FieldSet());
      }
      node = child;
    }
    return node;
  }

  /** True when the set has no member at any depth. */
  isEmpty(): boolean {
    return this.members.size === 0 && this.children.size === 0;
  }

  /** Paths in this set or in `other`. */
  union(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const token of this.members) out.members.add(token);
    for (const token of other.members) out.members.add(token);
    for (const [token, child] of this.children) out.children.set(token, child);
    for (const [token, child] of other.children) {
      const mine = out.children.get(token);
      out.children.set(token, mine ? mine.union(child) : child);
    }
    return out;
  }

  /** Paths of this set that are not members of `other` (their descendants stay). */
  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const token of this.members) if (!other.members.has(token)) out.members.add(token);
    for (const [token, child] of this.children) {
      const theirs = other.children.get(token);
      const rest = theirs ? child.difference(theirs) : child;
      if (!rest.isEmpty()) out.children.set(token, rest);
    }
    return out;
  }

  /** Paths that are members of both sets. */
  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const token of this.members) if (other.members.has(token)) out.members.add(token);
    for (const [token, child] of this.children) {
      const theirs = other.children.get(token);
      if (!theirs) continue;
      const both = child.intersection(theirs);
      if (!both.isEmpty()) out.children.set(token, both);
    }
    return out;
  }

  /** This set without every path at or below a member of `other` (a recursive difference). */
  recursiveDifference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const token of this.members) if (!other.members.has(token)) out.members.add(token);
    for (const [token, child] of this.children) {
      if (other.members.has(token)) continue;
      const theirs = other.children.get(token);
      const rest = theirs ? child.recursiveDifference(theirs) : child;
      if (!rest.isEmpty()) out.children.set(token, rest);
    }
    return out;
  }

  /** True when both sets hold the same paths. */
  equals(other: FieldSet): boolean {
    if (this.members.size !== other.members.size || this.children.size !== other.children.size) {
      return false;
    }
    for (const token of this.members) if (!other.members.has(token)) return false;
    for (const [token, child] of this.children) {
      const theirs = other.children.get(token);
      if (!theirs || !child.equals(theirs)) return false;
    }
    return true;
  }

  /** Every member path, in structured-merge-diff's order. */
  paths(prefix: PathToken[] = []): PathToken[][] {
    const tokens = [...new Set([...this.members, ...this.children.keys()])].sort(compareTokens);
    const out: PathToken[][] = [];
    for (const token of tokens) {
      if (this.members.has(token)) out.push([...prefix, token]);
      const child = this.children.get(token);
      if (child) out.push(...child.paths([...prefix, token]));
    }
    return out;
  }

  /** The set as `fieldsV1`: `{}` for a member, `".": {}` for a member that also has children. */
  toFieldsV1(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const tokens = [...new Set([...this.members, ...this.children.keys()])].sort(compareTokens);
    for (const token of tokens) {
      const child = this.children.get(token);
      const inner = child ? child.toFieldsV1() : {};
      out[token] = child && this.members.has(token) ? { ".": {}, ...inner } : inner;
    }
    return out;
  }

  /** Parses `fieldsV1`; throws {@linkcode FieldSetError} for anything else. */
  static fromFieldsV1(value: unknown): FieldSet {
    if (!isObject(value)) throw new FieldSetError("fieldsV1 must be an object");
    const set = new FieldSet();
    for (const [token, inner] of Object.entries(value)) {
      if (token === ".") continue;
      if (!/^[fkvi]:/.test(token)) {
        throw new FieldSetError(`unknown path element ${JSON.stringify(token)}`);
      }
      if (!isObject(inner)) throw new FieldSetError(`${token}: expected an object`);
      const keys = Object.keys(inner);
      if (keys.length === 0 || keys.includes(".")) set.members.add(token);
      const child = FieldSet.fromFieldsV1(inner);
      if (!child.isEmpty()) set.children.set(token, child);
    }
    return set;
  }
}

/**
 * A path as kube prints it in conflicts: `.spec.ports[name="http"].port`, `[="x"]` for a set
 * item, `[0]` for an index.
 */
export function pathString(path: readonly PathToken[]): string {
  return path.map((token) => {
    const body = token.slice(2);
    switch (token[0]) {
      case "f":
        return `.${body}`;
      case "k": {
        const key = JSON.parse(body) as Record<string, unknown>;
        return `[${Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}]`;
      }
      case "v":
        return `[=${body}]`;
      default:
        return `[${body}]`;
    }
  }).join("");
}
