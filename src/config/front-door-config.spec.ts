import { ConfigError, ConfigProblem } from './config.errors';
import { loadConfig } from './configuration';
import { parseTrustProxy } from './trust-proxy';

describe('front-door configuration', () => {
  it('reads the limits, timeouts and access settings', () => {
    const c = loadConfig({
      API_REQUEST_TIMEOUT: '30',
      API_HEADERS_TIMEOUT: '5',
      API_KEEPALIVE_TIMEOUT: '0.5',
      API_JSON_MAX_DEPTH: '10',
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '5',
      API_DOCS_ACCESS: 'key',
      API_METRICS_ACCESS: 'off',
      ADMIN_UI: 'off',
      API_TRUST_PROXY: '10.0.0.0/8, ::1',
    }).server;
    expect(c.timeouts).toEqual({ request: 30, headers: 5, keepAlive: 0.5 });
    expect(c.jsonMaxDepth).toBe(10);
    expect(c.rateLimit).toEqual({ perKey: 0, unauthenticatedPerIp: 5 });
    expect([c.docsAccess, c.metricsAccess]).toEqual(['key', 'off']);
    expect(c.adminUi).toBe(false);
    expect(c.trustProxy).toEqual(['10.0.0.0/8', '::1']);
  });

  it('names each bad value, and a headers timeout above the request timeout', () => {
    const bad = () =>
      loadConfig({ API_DOCS_ACCESS: 'public', RATE_LIMIT_PER_MINUTE: '-1', API_JSON_MAX_DEPTH: '0', API_HEADERS_TIMEOUT: '90', API_TRUST_PROXY: '10.0.0.300', ADMIN_UI: 'true' });
    expect(bad).toThrow(ConfigError);
    const message = (() => {
      try {
        bad();
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    for (const name of ['API_DOCS_ACCESS', 'RATE_LIMIT_PER_MINUTE', 'API_JSON_MAX_DEPTH', 'API_HEADERS_TIMEOUT must not be above API_REQUEST_TIMEOUT', 'API_TRUST_PROXY', 'ADMIN_UI must be one of on, off']) {
      expect(message).toContain(name);
    }
  });

  it.each([
    ['true', true],
    ['FALSE', false],
    ['127.0.0.1', ['127.0.0.1']],
    ['10.0.0.0/8,fd00::/8', ['10.0.0.0/8', 'fd00::/8']],
  ])('parses API_TRUST_PROXY=%s', (value, expected) => {
    const problems: ConfigProblem[] = [];
    expect(parseTrustProxy(value, problems)).toEqual(expected);
    expect(problems).toEqual([]);
  });

  it.each(['2', '10.0.0.0/33', 'fd00::/129', '1.2.3', '10.0.0.0/8/1'])('refuses API_TRUST_PROXY=%s', (value) => {
    const problems: ConfigProblem[] = [];
    parseTrustProxy(value, problems);
    expect(problems.map((p) => p.variable)).toEqual(['API_TRUST_PROXY']);
  });
});
