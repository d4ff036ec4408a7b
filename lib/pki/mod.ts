// A tiny certificate authority: ECDSA P-256 keys and X.509 certificates built with WebCrypto. The
// operator uses it for the self-signed certificate of its metrics endpoint (as controller-runtime
// generates one when no certificate is given); the dev API server for HTTPS and client certificates.
import { parseIpAddress } from "../ip.ts";
import { toPem } from "./pem.ts";
import {
  authorityKeyIdentifier,
  basicConstraints,
  encodeName,
  ExtendedKeyUsage,
  extendedKeyUsage,
  KEY_ALGORITHM,
  keyIdentifier,
  KeyUsage,
  keyUsage,
  signCertificate,
  subjectAltName,
  subjectKeyIdentifier,
} from "./x509.ts";

export { DerEncodingError } from "./der.ts";
export { InvalidIpAddressError } from "../ip.ts";

/** A PEM certificate and its PEM (PKCS#8 "PRIVATE KEY") private key. */
export interface CertificateBundle {
  /** The certificate, PEM "CERTIFICATE". */
  certPem: string;
  /** The unencrypted ECDSA P-256 private key, PEM "PRIVATE KEY" (PKCS#8). */
  keyPem: string;
}

/** What to put into a leaf certificate issued by {@linkcode CertificateAuthority.issue}. */
export interface IssueOptions {
  /** Subject CN; Kubernetes takes it as the user name of a client certificate. */
  commonName: string;
  /** Subject O values; Kubernetes takes them as the groups of a client certificate. */
  organizations?: string[];
  /** DNS subjectAltNames (server certificates). */
  dnsNames?: string[];
  /** IP subjectAltNames, IPv4 or IPv6 text (server certificates). */
  ipAddresses?: string[];
  /** Extended key usage: TLS server (serverAuth) or TLS client (clientAuth). */
  usage: "server" | "client";
  /** Validity in days (default 365, never beyond the CA's own validity). */
  validDays?: number;
}

/** A CA certificate and key that can issue leaf certificates. */
export interface CertificateAuthority extends CertificateBundle {
  /** Issues a new key pair and a leaf certificate for it, signed by this CA. */
  issue(options: IssueOptions): Promise<CertificateBundle>;
}

/** Thrown for option values no certificate can be built from. */
export class CertificateOptionsError extends Error {
  /** Builds the error from a description of the bad option. */
  constructor(message: string) {
    super(message);
    this.name = "CertificateOptionsError";
  }
}

const DAY_MS = 86_400_000;
const BACKDATE_MS = 60_000;

/** Creates a self-signed CA (CA:TRUE, keyCertSign|cRLSign|digitalSignature). */
export async function createCertificateAuthority(
  options: { commonName: string; validDays?: number },
): Promise<CertificateAuthority> {
  const now = Date.now();
  const notBefore = new Date(now - BACKDATE_MS);
  const notAfter = new Date(now + validity(options.validDays ?? 3650));
  const keys = await generateKeyPair();
  const caKeyId = await keyIdentifier(keys.publicKey);
  const caName = encodeName({ commonName: options.commonName });
  const caCert = await signCertificate({
    serialNumber: randomSerial(),
    issuer: caName,
    subject: { commonName: options.commonName },
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    extensions: [
      basicConstraints(true),
      keyUsage([KeyUsage.digitalSignature, KeyUsage.keyCertSign, KeyUsage.cRLSign]),
      subjectKeyIdentifier(caKeyId),
    ],
  }, keys.privateKey);

  const issue = async (leaf: IssueOptions): Promise<CertificateBundle> => {
    if (leaf.usage !== "server" && leaf.usage !== "client") {
      throw new CertificateOptionsError(`usage must be "server" or "client", got "${leaf.usage}"`);
    }
    const issuedAt = Date.now();
    const leafNotAfter = Math.min(issuedAt + validity(leaf.validDays ?? 365), notAfter.getTime());
    const leafKeys = await generateKeyPair();
    const extensions = [
      basicConstraints(false),
      keyUsage([KeyUsage.digitalSignature]),
      extendedKeyUsage([
        leaf.usage === "server" ? ExtendedKeyUsage.serverAuth : ExtendedKeyUsage.clientAuth,
      ]),
      subjectKeyIdentifier(await keyIdentifier(leafKeys.publicKey)),
      authorityKeyIdentifier(caKeyId),
    ];
    const dnsNames = leaf.dnsNames ?? [];
    const ipAddresses = leaf.ipAddresses ?? [];
    if (dnsNames.length + ipAddresses.length > 0) {
      extensions.push(subjectAltName(dnsNames, ipAddresses));
    }
    const cert = await signCertificate({
      serialNumber: randomSerial(),
      issuer: caName,
      subject: { commonName: leaf.commonName, organizations: leaf.organizations },
      notBefore: new Date(issuedAt - BACKDATE_MS),
      notAfter: new Date(leafNotAfter),
      publicKey: leafKeys.publicKey,
      extensions,
    }, keys.privateKey);
    return { certPem: toPem("CERTIFICATE", cert), keyPem: await privateKeyPem(leafKeys) };
  };

  return { certPem: toPem("CERTIFICATE", caCert), keyPem: await privateKeyPem(keys), issue };
}

function validity(days: number): number {
  if (!Number.isFinite(days) || days <= 0) {
    throw new CertificateOptionsError(`validDays must be a positive number, got ${days}`);
  }
  return days * DAY_MS;
}

function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
}

async function privateKeyPem(keys: CryptoKeyPair): Promise<string> {
  return toPem(
    "PRIVATE KEY",
    new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
  );
}

/** 16 random bytes, first byte in 0x40..0x7f: positive, no leading zero, always 16 octets. */
function randomSerial(): Uint8Array {
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0] & 0x3f) | 0x40;
  return serial;
}

/** A serving certificate chain (leaf, then its CA) with its key, and the CA to trust it by. */
export interface ServingCertificate extends CertificateBundle {
  /** The throw-away CA that signed the leaf (PEM), for clients that want to verify it. */
  caPem: string;
}

/**
 * A self-signed serving certificate for `hosts` (DNS names and IP addresses), as client-go's
 * `GenerateSelfSignedCertKey` makes one: a throw-away CA named `<first host>-ca@<unix time>` and a
 * leaf it signed, served as a chain. Clients cannot verify it without {@linkcode ServingCertificate.caPem};
 * it exists to encrypt, as kube-controller-manager's own metrics certificate does.
 */
export async function createSelfSignedServingCertificate(
  hosts: readonly string[],
  options: { validDays?: number } = {},
): Promise<ServingCertificate> {
  if (hosts.length === 0) throw new CertificateOptionsError("at least one host is required");
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const host of new Set(hosts)) {
    try {
      parseIpAddress(host);
      ipAddresses.push(host);
    } catch {
      dnsNames.push(host);
    }
  }
  const ca = await createCertificateAuthority({
    commonName: `${hosts[0]}-ca@${Math.floor(Date.now() / 1000)}`,
    validDays: options.validDays ?? 365,
  });
  const leaf = await ca.issue({
    commonName: `${hosts[0]}@${Math.floor(Date.now() / 1000)}`,
    dnsNames,
    ipAddresses,
    usage: "server",
    validDays: options.validDays ?? 365,
  });
  return { certPem: leaf.certPem + ca.certPem, keyPem: leaf.keyPem, caPem: ca.certPem };
}
