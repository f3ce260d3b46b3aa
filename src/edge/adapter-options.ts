import { Server } from 'node:http';
import { FastifyHttpOptions } from 'fastify';
import { ServerConfig } from '../config/configuration';
import { clientErrorHandler, frameworkErrors } from './client-errors';
import { requestIdOf } from './request-context';

/** Every route takes at most this, except the routes the API names (the submit routes). */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/**
 * How often Node checks connections against the headers and request timeouts. Its default, 30 s,
 * would let a slow client keep a connection up to 30 s past its deadline.
 */
const checkingInterval = (timeouts: ServerConfig['timeouts']): number =>
  Math.max(50, Math.min(1000, (Math.min(timeouts.headers, timeouts.request) * 1000) / 4));

/**
 * The Fastify options of an HTTP app: ids, proxy trust, the answers Fastify gives before any hook,
 * and the receive timeouts. `requestTimeout` and `headersTimeout` end when the request has been
 * received and `keepAliveTimeout` runs only between requests, so none of them can cut a slow
 * answer (a long poll or an event stream). Fastify's `connectionTimeout`, a socket idle timeout
 * that could, stays off.
 */
export function edgeAdapterOptions(server: ServerConfig, bodyLimit: number): FastifyHttpOptions<Server> {
  return {
    bodyLimit,
    logger: false,
    // Long ids must reach the controller (and get a 404); longer ones get 414 from frameworkErrors.
    routerOptions: { maxParamLength: 1024 },
    requestIdHeader: false,
    genReqId: requestIdOf,
    trustProxy: server.trustProxy,
    requestTimeout: Math.round(server.timeouts.request * 1000),
    keepAliveTimeout: Math.round(server.timeouts.keepAlive * 1000),
    http: {
      // Node would answer a missing Host with a bare 400; HttpEdge answers it in the API's shape.
      requireHostHeader: false,
      headersTimeout: Math.round(server.timeouts.headers * 1000),
      connectionsCheckingInterval: checkingInterval(server.timeouts),
    },
    frameworkErrors,
    clientErrorHandler,
  };
}
