/** The current time in seconds since the epoch, as JWT claims count it (RFC 7519 §2 NumericDate). */
export function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
