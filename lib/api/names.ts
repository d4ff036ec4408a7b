// The Kubernetes name rules the Tenant spec, the operator's flags and its decisions share.

/** A DNS-1123 label (a namespace name), length aside. */
export const DNS_LABEL_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Longest DNS-1123 label (and label value) Kubernetes accepts. */
export const MAX_DNS_LABEL_LENGTH = 63;
/** Longest DNS-1123 subdomain (most object names) Kubernetes accepts. */
export const MAX_DNS_SUBDOMAIN_LENGTH = 253;

const DNS_SUBDOMAIN_PATTERN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Whether `value` is a DNS-1123 label (a valid namespace name): at most 63 characters. */
export function isDnsLabel(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_DNS_LABEL_LENGTH &&
    DNS_LABEL_PATTERN.test(value);
}

/** Whether `value` is a DNS-1123 subdomain (a valid name of most objects): at most 253 characters. */
export function isDnsSubdomain(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_DNS_SUBDOMAIN_LENGTH &&
    DNS_SUBDOMAIN_PATTERN.test(value);
}
