// Builds and signs X.509 v3 certificates (RFC 5280) with ECDSA P-256 / SHA-256 via WebCrypto.
import {
  asciiBytes,
  bitString,
  boolean,
  explicit,
  implicit,
  namedBits,
  objectIdentifier,
  octetString,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from "./der.ts";
import { parseIpAddress } from "../ip.ts";

/** The WebCrypto algorithm of every key the PKI creates. */
export const KEY_ALGORITHM: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNATURE_ALGORITHM: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const ECDSA_WITH_SHA256 = sequence([objectIdentifier("1.2.840.10045.4.3.2")]);

/** A distinguished name as Kubernetes reads it: CN is the user, each O a group. */
export interface DistinguishedName {
  /** Subject common name (CN). */
  commonName: string;
  /** Organizations (O), one attribute each, in order. */
  organizations?: string[];
}

/** Encodes a name as an RDNSequence: one RDN per O, then the CN. */
export function encodeName(name: DistinguishedName): Uint8Array {
  const attribute = (oid: string, value: string) =>
    set([sequence([objectIdentifier(oid), utf8String(value)])]);
  return sequence([
    ...(name.organizations ?? []).map((organization) => attribute("2.5.4.10", organization)),
    attribute("2.5.4.3", name.commonName),
  ]);
}

/** The unsigned parts of a certificate. */
export interface CertificateTemplate {
  /** Positive serial number, big-endian. */
  serialNumber: Uint8Array;
  /** Issuer name, encoded exactly as in the issuer's own certificate. */
  issuer: Uint8Array;
  /** Subject name. */
  subject: DistinguishedName;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** The certified public key. */
  publicKey: CryptoKey;
  /** Encoded extensions (see the extension builders in this module). */
  extensions: Uint8Array[];
}

/** Signs the template with the issuer's private key and returns the certificate's DER. */
export async function signCertificate(
  template: CertificateTemplate,
  issuerKey: CryptoKey,
): Promise<Uint8Array> {
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", template.publicKey));
  const tbs = sequence([
    explicit(0, smallInteger(2)),
    unsignedInteger(template.serialNumber),
    ECDSA_WITH_SHA256,
    template.issuer,
    sequence([time(template.notBefore), time(template.notAfter)]),
    encodeName(template.subject),
    spki,
    explicit(3, sequence(template.extensions)),
  ]);
  const raw = new Uint8Array(await crypto.subtle.sign(SIGNATURE_ALGORITHM, issuerKey, tbs));
  return sequence([tbs, ECDSA_WITH_SHA256, bitString(ecdsaSignatureToDer(raw))]);
}

/** Converts WebCrypto's r||s signature into the DER Ecdsa-Sig-Value X.509 requires. */
function ecdsaSignatureToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return sequence([unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half))]);
}

/** Key identifier: SHA-1 of the public key's point (RFC 5280 4.2.1.2, method 1). */
export async function keyIdentifier(publicKey: CryptoKey): Promise<Uint8Array> {
  const point = await crypto.subtle.exportKey("raw", publicKey);
  return new Uint8Array(await crypto.subtle.digest("SHA-1", point));
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return sequence([
    objectIdentifier(oid),
    ...(critical ? [boolean(true)] : []),
    octetString(value),
  ]);
}

/** basicConstraints (critical): CA:TRUE or CA:FALSE. */
export function basicConstraints(ca: boolean): Uint8Array {
  return extension("2.5.29.19", true, sequence(ca ? [boolean(true)] : []));
}

/** Bit numbers of keyUsage (RFC 5280 4.2.1.3). */
export const KeyUsage = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

/** keyUsage (critical) with the given bit numbers. */
export function keyUsage(bits: readonly number[]): Uint8Array {
  return extension("2.5.29.15", true, namedBits(bits));
}

/** OIDs of extKeyUsage purposes. */
export const ExtendedKeyUsage = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

/** extKeyUsage with the given purpose OIDs. */
export function extendedKeyUsage(purposes: readonly string[]): Uint8Array {
  return extension("2.5.29.37", false, sequence(purposes.map(objectIdentifier)));
}

/** subjectAltName with DNS names and IP addresses (IPv4 or IPv6 text). */
export function subjectAltName(
  dnsNames: readonly string[],
  ipAddresses: readonly string[],
): Uint8Array {
  const names = [
    ...dnsNames.map((name) => implicit(2, asciiBytes(name, "dNSName"))),
    ...ipAddresses.map((address) => implicit(7, parseIpAddress(address))),
  ];
  return extension("2.5.29.17", false, sequence(names));
}

/** subjectKeyIdentifier. */
export function subjectKeyIdentifier(id: Uint8Array): Uint8Array {
  return extension("2.5.29.14", false, octetString(id));
}

/** authorityKeyIdentifier holding the issuer's key identifier. */
export function authorityKeyIdentifier(id: Uint8Array): Uint8Array {
  return extension("2.5.29.35", false, sequence([implicit(0, id)]));
}
