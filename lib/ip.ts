// Parses textual IPv4/IPv6 addresses into the raw octets an X.509 iPAddress SAN holds.

/** Thrown for text that is not an IPv4 or IPv6 address. */
export class InvalidIpAddressError extends Error {
  /** Builds the error from the rejected text. */
  constructor(text: string) {
    super(`"${text}" is not an IPv4 or IPv6 address`);
    this.name = "InvalidIpAddressError";
  }
}

/** Returns 4 octets for IPv4 ("10.0.0.1") or 16 for IPv6 ("::1", "fe80::1", "::ffff:1.2.3.4"). */
export function parseIpAddress(text: string): Uint8Array {
  const bytes = text.includes(":") ? parseIpv6(text) : parseIpv4(text);
  if (!bytes) throw new InvalidIpAddressError(text);
  return bytes;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const octets = parts.map((part) => /^(0|[1-9]\d{0,2})$/.test(part) ? Number(part) : NaN);
  return octets.every((octet) => octet <= 255) ? Uint8Array.from(octets) : undefined;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2 || (halves.length === 2 && halves[0].includes("."))) return undefined;
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const words = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[2 * i] = word >> 8;
    bytes[2 * i + 1] = word & 0xff;
  });
  return bytes;
}

/** 16-bit groups of one side of "::"; a trailing dotted IPv4 counts as two groups. */
function groups(text: string): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const words: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIpv4(part);
      if (!v4) return undefined;
      words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      words.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return words;
}

/**
 * True for a host that never leaves the machine: `localhost`, 127.0.0.0/8, `::1` and
 * `::ffff:127.x.x.x` (brackets around IPv6 addresses, as URLs write them, are allowed).
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost") return true;
  let bytes: Uint8Array;
  try {
    bytes = parseIpAddress(bare);
  } catch {
    return false;
  }
  if (bytes.length === 4) return bytes[0] === 127;
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff &&
    bytes[11] === 0xff;
  if (mapped) return bytes[12] === 127;
  return bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1;
}
