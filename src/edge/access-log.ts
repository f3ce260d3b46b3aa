import { Logger } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticatedRequest } from '../common/api-key';
import { logEvent } from '../common/log-event';

/** An unmatched path is logged for the operator who wonders what probes the service, but cut short. */
const MAX_LOGGED_PATH = 200;
/** Requests already logged: a reply that errors after its client left must not get two lines. */
const logged = new WeakSet<object>();

/**
 * One line per request, written when the reply is done: method, route pattern (not the path, so
 * lines group by route and carry no ids or query strings), status, duration, request id and the
 * key's label, and `client_closed=true` when the client left first. Headers are never logged, so
 * neither X-API-Key nor Authorization can leak; pino's redaction censors them should a header
 * object ever reach a line.
 */
export class AccessLog {
  private readonly logger = new Logger('HTTP');

  write(request: FastifyRequest & AuthenticatedRequest, reply: FastifyReply, opts: { clientClosed?: boolean } = {}): void {
    if (logged.has(request)) return;
    logged.add(request);
    const route = request.routeOptions.url;
    const status = reply.statusCode;
    const event = {
      ...logEvent('HTTP request', {
        method: request.method,
        route: route ?? '(none)',
        path: route === undefined ? unmatchedPath(request.url) : undefined,
        status,
        duration_ms: Math.round(reply.elapsedTime * 10) / 10,
        key_label: request.apiKeyLabel,
        client_closed: opts.clientClosed,
      }),
      // As a key only: the text would repeat the id that every line of the request carries.
      request_id: request.id,
    };
    // A 5xx is a warning here: the error itself, when there is one, is logged where it happened.
    if (status >= 500) this.logger.warn(event);
    else this.logger.log(event);
  }
}

function unmatchedPath(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path;
}
