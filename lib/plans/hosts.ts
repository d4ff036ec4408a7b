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
  return host.length <= 253 && HOST.test(host) &&
      host.split(".").every((label) => label.length <= 63)
    ? host
    : undefined;
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
