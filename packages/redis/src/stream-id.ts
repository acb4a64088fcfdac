// Redis stream ids are `<ms>-<seq>`, two unsigned 64-bit integers. Redis prints them canonically (no leading zeros),
// so two canonical ids compare by length, then character by character, part by part: no BigInt needed.

const STREAM_ID = /^(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,19})$/;
const UINT64_MAX = '18446744073709551615';

function fitsUint64(digits: string): boolean {
  return digits.length < UINT64_MAX.length || (digits.length === UINT64_MAX.length && digits <= UINT64_MAX);
}

/** True for a canonical Redis stream id (`<ms>-<seq>`, both within 64 bits): the only ids this broker issues. */
export function isStreamId(value: string): boolean {
  const match = STREAM_ID.exec(value);
  return match !== null && fitsUint64(match[1] as string) && fitsUint64(match[2] as string);
}

function compareNumber(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders two canonical stream ids; the empty string stands for "before every entry" (an empty stream).
 * @returns a negative number, zero or a positive number, like a sort comparator.
 */
export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return -1;
  if (b === '') return 1;
  const dashA = a.indexOf('-');
  const dashB = b.indexOf('-');
  return compareNumber(a.slice(0, dashA), b.slice(0, dashB)) || compareNumber(a.slice(dashA + 1), b.slice(dashB + 1));
}
