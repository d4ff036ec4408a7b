// Tenant names grouped by a key where nearly every key has one name (a namespace's tenant, a
// host's claimant): a lone name is kept as the string itself and a Set only for two or more, so
// that an index over 10,000 tenants holds strings, not 10,000 Sets.

/** One name, or a Set of two or more. */
export type Names = string | Set<string>;

/** `names` with `name` added. */
export function addName(names: Names | undefined, name: string): Names {
  if (names === undefined || names === name) return name;
  if (typeof names === "string") return new Set([names, name]);
  names.add(name);
  return names;
}

/** `names` without `name`: `undefined` when none is left, the string when one is. */
export function removeName(names: Names | undefined, name: string): Names | undefined {
  if (typeof names === "string" || names === undefined) return names === name ? undefined : names;
  names.delete(name);
  if (names.size > 1) return names;
  const [last] = names;
  return last;
}

/** Each name of `names`. */
export function eachName(names: Names | undefined): Iterable<string> {
  if (names === undefined) return [];
  return typeof names === "string" ? [names] : names;
}

/** Names by key, each key holding one name or more. */
export class NamesByKey {
  readonly #names = new Map<string, Names>();

  /** Adds `name` under `key`. */
  add(key: string, name: string): void {
    this.#names.set(key, addName(this.#names.get(key), name));
  }

  /** Removes `name` from under `key`. */
  delete(key: string, name: string): void {
    const rest = removeName(this.#names.get(key), name);
    if (rest === undefined) this.#names.delete(key);
    else this.#names.set(key, rest);
  }

  /** The names under `key`. */
  get(key: string): Iterable<string> {
    return eachName(this.#names.get(key));
  }
}
