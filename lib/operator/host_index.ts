// Which tenants claim which gateway hosts, as a tree of host labels (`com` → `example` → `apps`
// → `alice`), so that the tenants whose hosts overlap a given host (equal, under a wildcard, or a
// wildcard covering theirs: ARCHITECTURE.md §6) are found without looking at every tenant.
// Holds tenant names only.
import { addName, eachName, type Names, removeName } from "./names.ts";

interface HostNode {
  /** Child labels, one level further from the root domain. */
  children?: Map<string, HostNode>;
  /** Tenants claiming exactly this name. */
  exact?: Names;
  /** Tenants claiming `*.` this name. */
  wildcard?: Names;
}

/** A host split into its labels from the root domain down, and whether it is a wildcard. */
function parse(host: string): { labels: string[]; wildcard: boolean } {
  const lower = host.toLowerCase();
  const wildcard = lower.startsWith("*.");
  return { labels: (wildcard ? lower.slice(2) : lower).split(".").reverse(), wildcard };
}

/** Tenants by the gateway hosts they claim. */
export class HostIndex {
  readonly #root: HostNode = {};

  /** Records that `tenant` claims `host`. */
  add(tenant: string, host: string): void {
    const { labels, wildcard } = parse(host);
    let node = this.#root;
    for (const label of labels) {
      node.children ??= new Map();
      let child = node.children.get(label);
      if (child === undefined) node.children.set(label, child = {});
      node = child;
    }
    if (wildcard) node.wildcard = addName(node.wildcard, tenant);
    else node.exact = addName(node.exact, tenant);
  }

  /** Forgets that `tenant` claims `host`, pruning branches left empty. */
  remove(tenant: string, host: string): void {
    const { labels, wildcard } = parse(host);
    const path: [HostNode, string][] = [];
    let node: HostNode | undefined = this.#root;
    for (const label of labels) {
      const child: HostNode | undefined = node.children?.get(label);
      if (child === undefined) return;
      path.push([node, label]);
      node = child;
    }
    const rest = removeName(wildcard ? node.wildcard : node.exact, tenant);
    if (wildcard) {
      if (rest === undefined) delete node.wildcard;
      else node.wildcard = rest;
    } else if (rest === undefined) delete node.exact;
    else node.exact = rest;
    for (let index = path.length - 1; index >= 0; index--) {
      const [parent, label] = path[index];
      const child = parent.children!.get(label)!;
      if (child.children?.size || child.exact || child.wildcard) break;
      parent.children!.delete(label);
      if (parent.children!.size === 0) delete parent.children;
    }
  }

  /** Every tenant claiming a host that overlaps `host` (`hostsOverlap` in lib/plans). */
  overlapping(host: string): Set<string> {
    const { labels, wildcard } = parse(host);
    const found = new Set<string>();
    const add = (names: Names | undefined) => {
      for (const tenant of eachName(names)) found.add(tenant);
    };
    let node: HostNode | undefined = this.#root;
    for (const label of labels) {
      add(node.wildcard);
      node = node.children?.get(label);
      if (node === undefined) return found;
    }
    if (!wildcard) {
      add(node.exact);
      return found;
    }
    add(node.wildcard);
    const below = [...node.children?.values() ?? []];
    for (let next = below.pop(); next !== undefined; next = below.pop()) {
      add(next.exact);
      add(next.wildcard);
      below.push(...next.children?.values() ?? []);
    }
    return found;
  }
}
