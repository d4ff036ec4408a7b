// Kubernetes resource quantities ("500m", "1Gi", "2e3") parsed exactly, so that the operator can
// validate plans and compare what it wants with what the API server stored after normalising it
// ("1000m" comes back as "1", "1024Mi" as "1Gi").

/** A quantity as an exact fraction `numerator / denominator` (denominator > 0). */
export interface Quantity {
  /** Signed numerator. */
  numerator: bigint;
  /** Positive denominator. */
  denominator: bigint;
}

const PATTERN = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

/** Parses a quantity string (Kubernetes' grammar); `undefined` when it is not one. */
export function parseQuantity(text: string): Quantity | undefined {
  const match = PATTERN.exec(text);
  if (!match) return undefined;
  const [, sign, number, suffix = ""] = match;
  const [whole, fraction = ""] = number.split(".");
  let numerator = BigInt(`${whole || "0"}${fraction}`) * (sign === "-" ? -1n : 1n);
  let denominator = 10n ** BigInt(fraction.length);
  let exponent = 0;
  if (suffix in BINARY) numerator *= 1024n ** BigInt(BINARY[suffix]);
  else if (suffix in DECIMAL) exponent = DECIMAL[suffix];
  else if (suffix !== "") exponent = Number(suffix.slice(1));
  if (Math.abs(exponent) > 100) return undefined;
  if (exponent > 0) numerator *= 10n ** BigInt(exponent);
  if (exponent < 0) denominator *= 10n ** BigInt(-exponent);
  const divisor = gcd(numerator < 0n ? -numerator : numerator, denominator);
  return { numerator: numerator / divisor, denominator: denominator / divisor };
}

/** Orders two quantities: negative, zero or positive as `a` is less than, equal to or above `b`. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const left = a.numerator * b.denominator;
  const right = b.numerator * a.denominator;
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * A comparison key of a quantity string: equal for equal amounts however written ("1" and
 * "1000m"); the text itself when it is not a quantity.
 */
export function quantityKey(text: string): string {
  const quantity = parseQuantity(text);
  return quantity === undefined ? text : `${quantity.numerator}/${quantity.denominator}`;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}
