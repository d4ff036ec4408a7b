// PEM armour (RFC 7468) for the DER blobs the PKI produces.

/** Wraps DER bytes as PEM with the given label, e.g. "CERTIFICATE" or "PRIVATE KEY". */
export function toPem(label: string, der: Uint8Array): string {
  const lines = der.toBase64().match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
