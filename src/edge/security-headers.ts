import { FastifyHelmetOptions } from '@fastify/helmet';

/**
 * The API answers JSON only, so its pages may load nothing, be framed by nobody, and submit nowhere.
 * Helmet's other defaults stay: nosniff, HSTS, no referrer, same-origin resource and opener policies.
 */
export const API_HELMET: FastifyHelmetOptions = {
  global: true,
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
};

/**
 * A page served with its own scripts, styles and images from its own path: scripts only from
 * 'self'; styles from 'self' and inline; images and fonts also from data: URIs; requests to 'self'.
 */
const pagePolicy = (formAction: string): Omit<FastifyHelmetOptions, 'global'> => ({
  // Merged over API_HELMET by @fastify/helmet: only the policy differs.
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      baseUri: ["'self'"],
      formAction: [formAction],
      frameAncestors: ["'none'"],
      objectSrc: ["'none'"],
    },
  },
});

/**
 * Swagger UI at /docs: its scripts, styles and images are served from /docs itself, and the page has
 * inline <style> blocks and style attributes (so 'unsafe-inline' for styles only; scripts stay
 * 'self'). It draws icons from data: URIs, and "Try it out" calls the API on the same origin.
 */
export const DOCS_HELMET = pagePolicy("'self'");

/**
 * Bull Board at /admin/queues: a React app whose scripts, styles, images and translations are served
 * from /admin/queues itself, and which polls its JSON API there. Its page has inline style
 * attributes and a <style> block (so 'unsafe-inline' for styles only; scripts stay 'self'), and a
 * <base href>. It also links Google Fonts, which stays blocked: an operator's page should not call a
 * third party, and must work offline; the UI then falls back to the system's fonts. It has no form.
 */
export const ADMIN_UI_HELMET = pagePolicy("'none'");

/** For the answers written before Fastify builds a reply (431, 408 from the socket): helmet never sees them. */
export const RAW_SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};
