// Values walked with their field types, as structured-merge-diff walks them: the field set a value
// sets, the comparison of two versions, the merge of an applied configuration into a live object,
// and the removal of fields.
import { deepEqual, isObject } from "./objects.ts";
import { FieldSet, type PathToken } from "./field_set.ts";
import { fieldOf, type FieldType, type ListType, type MapType, resolve } from "./field_types.ts";

type Json = Record<string, unknown>;

/** The token of item `index` of a list: its key fields, its value, or its index. */
function itemToken(list: ListType, item: unknown, index: number): PathToken {
  if (list.list === "set") return `v:${JSON.stringify(item)}`;
  if (list.list === "map" && isObject(item)) {
    const key: Json = {};
    for (const name of [...list.keys ?? []].sort()) {
      if (item[name] !== undefined) key[name] = item[name];
    }
    return `k:${JSON.stringify(key)}`;
  }
  return `i:${index}`;
}

/** A list's items by token (the first of duplicates wins), in list order. */
function indexItems(list: ListType, items: unknown[]): Map<PathToken, unknown> {
  const out = new Map<PathToken, unknown>();
  items.forEach((item, i) => {
    const token = itemToken(list, item, i);
    if (!out.has(token)) out.set(token, item);
  });
  return out;
}

function isLeaf(type: FieldType): boolean {
  return type.kind === "scalar" || type.kind === "untyped" ||
    (type.kind === "map" && type.atomic === true) ||
    (type.kind === "list" && type.list === "atomic");
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null ||
    (Array.isArray(value)
      ? value.length === 0
      : isObject(value) && Object.keys(value).length === 0);
}

/**
 * The fields a value sets (what an applier owns): scalars and atomic values, list items of sets
 * and keyed lists, and map keys that are not declared fields or hold null or `{}`.
 */
export function fieldSetOf(value: unknown, type: FieldType): FieldSet {
  const set = new FieldSet();
  const path: PathToken[] = [];
  const walk = (v: unknown, t: FieldType) => {
    const r = resolve(t, v);
    if (isLeaf(r)) {
      set.insert(path);
    } else if (r.kind === "list") {
      (v as unknown[]).forEach((item, i) => {
        path.push(itemToken(r, item, i));
        walk(item, r.items);
        set.insert(path);
        path.pop();
      });
    } else {
      for (const [key, child] of Object.entries(v as Json)) {
        const field = fieldOf(r as MapType, key);
        path.push(`f:${key}`);
        walk(child, field.type);
        if (child === null || (isObject(child) && isEmpty(child)) || !field.declared) {
          set.insert(path);
        }
        path.pop();
      }
    }
  };
  if (value !== undefined) walk(value, type);
  return set;
}

/** What changed between two versions of an object. */
export interface Comparison {
  added: FieldSet;
  removed: FieldSet;
  modified: FieldSet;
}

/** Compares two versions (either may be absent) field by field, as structured-merge-diff does. */
export function compare(before: unknown, after: unknown, type: FieldType): Comparison {
  const result = { added: new FieldSet(), removed: new FieldSet(), modified: new FieldSet() };
  const path: PathToken[] = [];
  const leaf = (l: unknown, r: unknown) => {
    if (l === undefined) result.added.insert(path);
    else if (r === undefined) result.removed.insert(path);
    else if (!deepEqual(l, r)) result.modified.insert(path);
  };
  const walk = (l: unknown, r: unknown, t: FieldType) => {
    if (l === r) return;
    const lt = l === undefined ? undefined : resolve(t, l);
    const rt = r === undefined ? undefined : resolve(t, r);
    const shape = rt ?? lt!;
    const sameShape = lt === undefined || rt === undefined || lt.kind === rt.kind;
    if (!sameShape || isLeaf(shape) || (isEmpty(l) && isEmpty(r))) {
      leaf(l, r);
      return;
    }
    if (shape.kind === "list") {
      const left = indexItems(shape, (l as unknown[] | undefined) ?? []);
      const right = indexItems(shape, (r as unknown[] | undefined) ?? []);
      for (const token of new Set([...left.keys(), ...right.keys()])) {
        path.push(token);
        walk(left.get(token), right.get(token), shape.items);
        path.pop();
      }
    } else if (shape.kind === "map") {
      const left = (l as Json | undefined) ?? {};
      const right = (r as Json | undefined) ?? {};
      for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
        path.push(`f:${key}`);
        walk(left[key], right[key], fieldOf(shape, key).type);
        path.pop();
      }
    }
    if (path.length > 0 && l === undefined) result.added.insert(path);
    if (path.length > 0 && r === undefined) result.removed.insert(path);
  };
  walk(before, after, type);
  return result;
}

/** True when a comparison found no difference. */
export function isSame(comparison: Comparison): boolean {
  return comparison.added.isEmpty() && comparison.removed.isEmpty() &&
    comparison.modified.isEmpty();
}

/**
 * Merges an applied configuration into a live value: maps merge key by key, keyed lists and sets
 * item by item (the configuration's order for the items it names, live-only items kept in place),
 * everything else is replaced by the configuration.
 */
export function merge(live: unknown, config: unknown, type: FieldType): unknown {
  if (config === undefined) return live;
  if (live === undefined) return structuredClone(config);
  const t = resolve(type, config);
  const lt = resolve(type, live);
  if (isLeaf(t) || lt.kind !== t.kind) return structuredClone(config);
  if (t.kind === "map") {
    const out: Json = { ...(live as Json) };
    for (const [key, value] of Object.entries(config as Json)) {
      out[key] = merge(out[key], value, fieldOf(t, key).type);
    }
    return out;
  }
  return mergeList(live as unknown[], config as unknown[], t as ListType);
}

/** structured-merge-diff's list merge order. */
function mergeList(lhs: unknown[], rhs: unknown[], list: ListType): unknown[] {
  const lhsTokens = lhs.map((item, i) => itemToken(list, item, i));
  const rhsTokens = rhs.map((item, i) => itemToken(list, item, i));
  const left = indexItems(list, lhs);
  const right = indexItems(list, rhs);
  const shared = rhsTokens.filter((token) => left.has(token));
  let nextShared = shared.shift();
  const mergedRight = new Set<PathToken>();
  const out: unknown[] = [];
  const take = (token: PathToken) => out.push(merge(left.get(token), right.get(token), list.items));
  let l = 0;
  let r = 0;
  while (l < lhsTokens.length || r < rhsTokens.length) {
    if (l < lhsTokens.length && r < rhsTokens.length) {
      const token = lhsTokens[l];
      if (token === rhsTokens[r]) {
        if (!mergedRight.has(token)) take(token);
        mergedRight.add(token);
        l++;
        r++;
        nextShared = shared.shift();
        continue;
      }
      if (right.has(token) && nextShared !== undefined && nextShared !== token) {
        l++;
        continue;
      }
    }
    if (l < lhsTokens.length) {
      const token = lhsTokens[l];
      if (!right.has(token)) {
        out.push(structuredClone(left.get(token)));
        l++;
        continue;
      }
      if (mergedRight.has(token)) {
        l++;
        continue;
      }
    }
    if (r < rhsTokens.length) {
      const token = rhsTokens[r];
      if (!mergedRight.has(token)) take(token);
      mergedRight.add(token);
      r++;
      if (nextShared === token) nextShared = shared.shift();
    }
  }
  return out;
}

/**
 * The value without the fields that are members of `remove` (each with everything below it);
 * an object or list emptied that way goes too. Undefined when nothing is left.
 */
export function removeFields(value: unknown, remove: FieldSet, type: FieldType): unknown {
  if (remove.isEmpty()) return value;
  const t = resolve(type, value);
  if (isLeaf(t)) return value;
  if (t.kind === "list") {
    const out: unknown[] = [];
    (value as unknown[]).forEach((item, i) => {
      const token = itemToken(t, item, i);
      if (remove.members.has(token)) return;
      const below = remove.children.get(token);
      const kept = below ? removeFields(item, below, t.items) : item;
      if (kept !== undefined) out.push(kept);
    });
    return out.length === 0 && (value as unknown[]).length > 0 ? undefined : out;
  }
  const out: Json = {};
  const source = value as Json;
  for (const [key, child] of Object.entries(source)) {
    const token = `f:${key}`;
    if (remove.members.has(token)) continue;
    const below = remove.children.get(token);
    const kept = below ? removeFields(child, below, fieldOf(t as MapType, key).type) : child;
    if (kept !== undefined) out[key] = kept;
  }
  return Object.keys(out).length === 0 && Object.keys(source).length > 0 ? undefined : out;
}
