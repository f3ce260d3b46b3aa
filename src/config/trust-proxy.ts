import { isIP } from 'node:net';
import { ConfigProblem } from './config.errors';

/**
 * API_TRUST_PROXY in Fastify's trustProxy forms: `true`/`false`, or the proxies' addresses and
 * CIDRs. (Fastify 5.12 trusts no one for a hop count, since it cannot check the nearest peer, so
 * that form is not offered.) Each address is checked here, so a typo stops the boot instead of
 * silently trusting nothing.
 */
export function parseTrustProxy(value: string, problems: ConfigProblem[]): boolean | string[] {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === 'false') return v === 'true';
  const entries = v.split(',').map((x) => x.trim());
  for (const entry of entries) {
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    if (family === 0 || rest.length > 0 || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits))) {
      problems.push({ variable: 'API_TRUST_PROXY', detail: `has ${JSON.stringify(entry)}, which is not an IP address or CIDR` });
    }
  }
  return entries;
}
