// Host names of a tenant's Istio Gateway from templates such as `*.{username}.apps.example.com`.

/** Placeholders a host template may use. */
export const HOST_PLACEHOLDERS = ["username", "userId", "tenant"] as const;

/** Values for the placeholders of one tenant. */
export type HostValues = Record<typeof HOST_PLACEHOLDERS[number], string>;

const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * Renders `template` for a tenant: placeholders replaced by lower-cased values with `_` turned
 * into `-` (user names may hold both; host names may not). Returns `undefined` when the result is
 * not a valid (optionally wildcard) DNS name.
 */
export function renderHost(template: string, values: HostValues): string | undefined {
  const host = template.replace(
    PLACEHOLDER,
    (_, name: string) =>
      (values[name as keyof HostValues] ?? "").toLowerCase().replaceAll("_", "-"),
  );
  return isHostName(host) ? host : undefined;
}

/**
 * Whether `name` is a lower-case DNS name (at most 253 characters, labels of at most 63) whose
 * left-most label may be `*`.
 */
export function isHostName(name: string): boolean {
  return name.length <= 253 && HOST.test(name) &&
    name.split(".").every((label) => label.length <= 63);
}

/** Why `template` is unusable (unknown placeholder, invalid name), or `undefined` when it is fine. */
export function hostTemplateProblem(template: string): string | undefined {
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    if (!(HOST_PLACEHOLDERS as readonly string[]).includes(name)) {
      return `unknown placeholder {${name}} in "${template}" (known: ${
        HOST_PLACEHOLDERS.map((item) => `{${item}}`).join(", ")
      })`;
    }
  }
  return renderHost(template, { username: "user", userId: "user-1", tenant: "tenant" }) ===
      undefined
    ? `"${template}" does not give a valid host name (e.g. *.{username}.apps.example.com)`
    : undefined;
}

/**
 * Renders every template for a tenant: the distinct host names, or `undefined` when a template
 * gives no valid host name for these values.
 */
export function renderHosts(
  templates: readonly string[],
  values: HostValues,
): string[] | undefined {
  const hosts = new Set<string>();
  for (const template of templates) {
    const host = renderHost(template, values);
    if (host === undefined) return undefined;
    hosts.add(host);
  }
  return [...hosts];
}

/**
 * Whether two gateway hosts can match one request's host name (ARCHITECTURE.md §6): equal names
 * (case-insensitive), a name under a wildcard (`*.a.example.com` covers every name ending in
 * `.a.example.com`, at any depth, as Istio matches), or two wildcards one of which covers the
 * other. A wildcard does not cover its own apex (`*.a.example.com` and `a.example.com` do not
 * overlap).
 */
export function hostsOverlap(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  const covers = (wildcard: string, other: string) =>
    wildcard.startsWith("*.") && other.endsWith(wildcard.slice(1));
  return covers(x, y) || covers(y, x);
}
