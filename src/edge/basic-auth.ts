/** The challenge a browser answers with its login dialog; the realm names the service. */
export const BASIC_CHALLENGE = 'Basic realm="Sluice"';

/** RFC 7617's credentials are a token68; accepting only canonical base64 keeps Buffer's lenient decoder out of it. */
const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;
/** Far above any real key (the whole header block is capped at 16 KiB anyway). */
const MAX_CREDENTIALS = 4096;

/**
 * The password of an `Authorization: Basic` header, or null when the header is absent, another
 * scheme, not canonical base64, or decodes to something without a `user:` part. The user name is
 * ignored: the password is the API key. Never throws, so a malformed header is a 401, not a 500.
 */
export function basicAuthPassword(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string' || header.length > MAX_CREDENTIALS) return null;
  const m = BASIC.exec(header);
  if (!m || m[1].length % 4 !== 0) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}
