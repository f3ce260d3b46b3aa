import { Inject, Injectable, Optional } from '@nestjs/common';
import helmet from '@fastify/helmet';
import { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { AuthenticatedRequest } from '../common/api-key';
import { rememberTaskDataText } from '../common/task-data-text';
import { SERVER_CONFIG } from '../config/config.module';
import { ServerConfig } from '../config/configuration';
import { AccessLog } from './access-log';
import { answerExpectation } from './client-errors';
import { JsonTooDeepError, RateLimitedError, WrongMethodError } from './edge.errors';
import { jsonNestsDeeperThan } from './json-depth';
import { lingerIfBodyUnread } from './lingering-close';
import { isAdminUiPath, isDocsPath, judgedPath } from './paths';
import { REQUEST_ID_HEADER, runInRequestContext } from './request-context';
import { REQUEST_GATE, RequestGate } from './request-gate';
import { RouteTable } from './route-table';
import { ADMIN_UI_HELMET, API_HELMET, DOCS_HELMET } from './security-headers';

/** Routes that take API_BODY_LIMIT_MB, as `METHOD /path`; every other one takes the server's limit. */
export const LARGE_BODY_ROUTES = Symbol('LARGE_BODY_ROUTES');

/**
 * What every Sluice HTTP listener does before Nest sees a request, in this order: the request id
 * (X-Request-Id on the reply, and in every log line of the request, the access log's included), helmet's headers with a
 * policy per route, the gate of the role (the API's key check and rate limit), and 405 for a known
 * path with the wrong method. JSON is the only body type, parsed only after the gate and refused
 * when nested deeper than API_JSON_MAX_DEPTH; the body limit is set per route.
 */
@Injectable()
export class HttpEdge {
  private readonly routes = new RouteTable();
  private readonly largeBody: Set<string>;
  private readonly accessLog = new AccessLog();

  constructor(
    @Inject(SERVER_CONFIG) private readonly server: ServerConfig,
    @Inject(LARGE_BODY_ROUTES) largeBodyRoutes: string[],
    @Optional() @Inject(REQUEST_GATE) private readonly gate?: RequestGate,
  ) {
    this.largeBody = new Set(largeBodyRoutes);
  }

  /** Must run before any route is registered: routes take their body limit and policy when added. */
  async install(fastify: FastifyInstance): Promise<void> {
    fastify.server.on('checkExpectation', answerExpectation);
    fastify.addHook('onRequest', (request, reply, done) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      runInRequestContext(request.id, done);
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      this.accessLog.write(request, reply);
      done();
    });
    // An error answered before the body (413, 415) must reach a key holder still sending it; only
    // errors answer early, so success answers never pay for the check. Not a 401 or a 429:
    // lingering reads the rest of the body, which those answers exist to spare (4 clients sending
    // 12 MB bodies with a wrong key took an authenticated GET's p50 from 1.4x to 11x idle).
    fastify.addHook('onError', (request, _reply, error, done) => {
      if ((request as AuthenticatedRequest).apiKeyLabel !== undefined && !(error instanceof RateLimitedError)) lingerIfBodyUnread(request.raw);
      done();
    });
    // Fastify runs no onResponse for a response whose client left first (an event stream or a
    // long poll, mostly): that one is logged when its connection closes.
    fastify.addHook('onRequest', (request, reply, done) => {
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) this.accessLog.write(request, reply, { clientClosed: true });
      });
      done();
    });
    await fastify.register(helmet, API_HELMET);
    fastify.addHook('onRequest', async (request, reply) => {
      // HTTP/1.1 requires Host (RFC 9112); Node's own check would answer without a body.
      if (request.raw.httpVersion === '1.1' && !request.headers.host) {
        await reply.code(400).send({ detail: 'Bad request: HTTP/1.1 requires a Host header' });
      }
    });
    fastify.addHook('onRoute', (route) => this.onRoute(route));
    this.acceptJsonOnly(fastify);
    if (this.gate) await this.gate.install(fastify);
    fastify.addHook('onRequest', (request, reply) => this.refuseWrongMethod(request, reply));
  }

  private onRoute(route: RouteOptions): void {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    this.routes.add(route.url, methods);
    if (methods.some((m) => this.largeBody.has(`${m} ${route.url}`))) route.bodyLimit = this.server.bodyLimitBytes;
    if (isDocsPath(route.url)) route.config = { ...route.config, helmet: DOCS_HELMET } as FastifyContextConfig;
    if (isAdminUiPath(route.url)) route.config = { ...route.config, helmet: ADMIN_UI_HELMET } as FastifyContextConfig;
  }

  /**
   * Fastify's own JSON parser (which refuses `__proto__` keys) behind a depth check, and no other
   * parser: any other content type with a body gets 415, form-encoded bodies included.
   */
  private acceptJsonOnly(fastify: FastifyInstance): void {
    const parse = fastify.getDefaultJsonParser('error', 'ignore');
    const maxDepth = this.server.jsonMaxDepth;
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (jsonNestsDeeperThan(body as string, maxDepth)) {
        done(new JsonTooDeepError(maxDepth), undefined);
        return;
      }
      parse(request, body as string, (err, parsed) => {
        if (!err) rememberTaskDataText(parsed, body as string);
        done(err, parsed);
      });
    });
  }

  private async refuseWrongMethod(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (!request.is404) return;
    const allowed = this.routes.allowedMethods(judgedPath(request));
    if (allowed.length === 0) return;
    reply.header('allow', allowed.join(', '));
    throw new WrongMethodError(request.method, allowed);
  }
}
