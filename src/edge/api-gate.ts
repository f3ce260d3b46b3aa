import { Inject, Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import { API_KEY_HEADER } from '../common/api-key';
import { ApiKeyRing } from '../common/api-key-ring';
import { REDIS_CONFIG, SERVER_CONFIG } from '../config/config.module';
import { RedisConfig, ServerConfig } from '../config/configuration';
import { METRIC } from '../metrics/metric-names';
import { REDIS_CLIENT } from '../redis/redis.module';
import { AuthFailures } from './auth-failures';
import { BASIC_CHALLENGE, basicAuthPassword } from './basic-auth';
import { RateLimitReason } from './edge-metrics';
import { AdminUiAuthError, EndpointOffError, InvalidApiKeyError, RateLimitedError } from './edge.errors';
import { isAdminUiPath, isApiPath, isDocsPath, isMetricsPath, isProbePath, isTaskEventsRoute, judgedPath } from './paths';
import { RequestGate } from './request-gate';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by ApiGate for a request with an accepted key; read as AuthenticatedRequest. */
    apiKeyLabel?: string;
  }
}

const KEY_PREFIX = 'key:';
const IP_PREFIX = 'ip:';
type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * The API's front door, one onRequest hook: it runs before the body is read, so a request without
 * a valid key costs a hash and no parsing. For each request it
 *  1. answers 404 for /metrics when API_METRICS_ACCESS=off (/docs is then not even registered);
 *  2. identifies the X-API-Key by label; under /admin/queues (the job inspection UI, which a
 *     browser reaches through its own login dialog) and on a task's event stream (which a browser's
 *     EventSource reads without custom headers) also the password of `Authorization: Basic`;
 *  3. rate-limits with @fastify/rate-limit on Sluice's Redis, so limits hold across API pods: per
 *     key with a valid key, else per client IP (also before 401, so a flood of bad keys gets 429s);
 *  4. refuses with 401 a request that needs a key (/api, /admin/queues when ADMIN_UI=on, and /docs
 *     or /metrics when set to `key`); the 401 of a route that takes Basic carries its challenge.
 * Probes and /metrics are never rate-limited: the kubelet and Prometheus must always get through.
 */
@Injectable()
export class ApiGate implements RequestGate {
  private readonly ring: ApiKeyRing;

  constructor(
    @Inject(SERVER_CONFIG) private readonly server: ServerConfig,
    @Inject(REDIS_CONFIG) private readonly redisConfig: RedisConfig,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly failures: AuthFailures,
    @InjectMetric(METRIC.httpRateLimited) private readonly rateLimited: Counter,
  ) {
    this.ring = new ApiKeyRing(server.apiKeys);
  }

  async install(fastify: FastifyInstance): Promise<void> {
    fastify.decorateRequest('apiKeyLabel', undefined);
    const limit = await this.limiter(fastify);
    fastify.addHook('onRequest', (request, reply) => this.admit(request, reply, limit));
  }

  private async admit(request: FastifyRequest, reply: FastifyReply, limit: Hook | undefined): Promise<void> {
    const path = judgedPath(request);
    if (isMetricsPath(path) && this.server.metricsAccess === 'off') throw new EndpointOffError(request.method, path);

    // With ADMIN_UI=off nothing is mounted there, so the path is left to answer 404.
    const adminUi = this.server.adminUi && isAdminUiPath(path);
    const basic = adminUi || isTaskEventsRoute(path);

    const presented = request.headers[API_KEY_HEADER];
    const authorization = basic && presented === undefined ? request.headers.authorization : undefined;
    const key = typeof presented === 'string' ? presented : (basicAuthPassword(authorization) ?? undefined);
    const label = this.ring.identify(key);
    if (label !== null) request.apiKeyLabel = label;

    if (limit && !isProbePath(path) && !isMetricsPath(path)) await limit(request, reply);

    const needsKey =
      isApiPath(path) ||
      adminUi ||
      (isDocsPath(path) && this.server.docsAccess === 'key') ||
      (isMetricsPath(path) && this.server.metricsAccess === 'key');
    if (needsKey && label === null) {
      this.failures.record(request.ip, presented === undefined && authorization === undefined ? 'missing' : 'invalid', request.method, path);
      if (!basic) throw new InvalidApiKeyError();
      reply.header('www-authenticate', BASIC_CHALLENGE);
      throw adminUi ? new AdminUiAuthError() : new InvalidApiKeyError();
    }
  }

  /**
   * @fastify/rate-limit's Redis store runs one single-key script per request (INCR and PEXPIRE
   * on `<prefix>:ratelimit:<who>`), so it works on a Redis Cluster too. It uses the shared
   * fail-fast client: while Redis is away the command fails at once, and with `skipOnError` the
   * request goes on as if there were no limit (fail-open), to answer as it would anyway.
   */
  private async limiter(fastify: FastifyInstance): Promise<Hook | undefined> {
    const { perKey, unauthenticatedPerIp } = this.server.rateLimit;
    if (perKey === 0 && unauthenticatedPerIp === 0) return undefined;
    const isKey = (key: string) => key.startsWith(KEY_PREFIX);
    await fastify.register(rateLimit, {
      global: false,
      redis: this.redis,
      nameSpace: `${this.redisConfig.prefix}:ratelimit:`,
      skipOnError: true,
      timeWindow: 60_000,
      // An IPv6 client is limited by its /64, which it could otherwise walk through.
      keyGenerator: (req) => (req.apiKeyLabel !== undefined ? `${KEY_PREFIX}${req.apiKeyLabel}` : `${IP_PREFIX}${normalizeIP(req.ip)}`),
      max: (_req, key) => (isKey(key) ? perKey : unauthenticatedPerIp),
      // A limit of 0 is off.
      allowList: (_req, key) => (isKey(key) ? perKey : unauthenticatedPerIp) === 0,
      onExceeded: (_req, key) => this.rateLimited.inc({ reason: (isKey(key) ? 'api_key' : 'client_ip') satisfies RateLimitReason }),
      errorResponseBuilder: (req, context) =>
        new RateLimitedError(
          `Rate limit exceeded: at most ${context.max} requests per minute ` +
            `${req.apiKeyLabel !== undefined ? 'per API key' : 'per client address without a valid API key'}; retry in ${context.after}`,
        ),
    });
    return fastify.rateLimit() as unknown as Hook;
  }
}
