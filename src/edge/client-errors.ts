import { IncomingMessage, STATUS_CODES, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { REQUEST_ID_HEADER, requestIdOf } from './request-context';
import { RAW_SECURITY_HEADERS } from './security-headers';

/** What a client is told for the router's own errors; the path itself is never echoed. */
const FRAMEWORK_DETAIL: Record<string, string> = {
  FST_ERR_BAD_URL: 'Malformed URL: invalid percent-encoding in the path',
  FST_ERR_MAX_PARAM_LENGTH: 'URI too long: a path segment is over 1024 characters',
};

/**
 * Fastify's router answers a malformed URL (400) and an over-long path parameter (414) before any
 * hook, filter or error handler runs; this is its `frameworkErrors` option, so those answers have
 * the API's shape and headers too.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 500;
  const detail = FRAMEWORK_DETAIL[error.code] ?? (status < 500 ? (STATUS_CODES[status] ?? 'Bad request') : 'Internal server error');
  reply
    .code(status)
    .headers({ ...RAW_SECURITY_HEADERS, [REQUEST_ID_HEADER]: request.id, 'content-type': 'application/json; charset=utf-8' })
    .send({ detail });
}

/** Node's parser errors: headers over 16 KiB, a request not received in time, bytes that are not HTTP. */
function describeClientError(code: string | undefined): { status: number; detail: string } {
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, detail: 'Request header fields too large: at most 16 KiB of headers' };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, detail: 'Request timeout: the request was not received in time' };
  return { status: 400, detail: 'Bad request: malformed HTTP' };
}

/**
 * Fastify's `clientErrorHandler`: Node reports these on the socket, before any request object
 * exists, so the answer is written by hand, in the API's shape, and the connection closed.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // The client is gone: there is nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, detail } = describeClientError(error.code);
  const body = JSON.stringify({ detail });
  const headers = {
    ...RAW_SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'X-Request-Id': randomUUID(),
    Connection: 'close',
  };
  if (socket.writable) {
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines}\r\n${body}`);
  }
  socket.destroy(error);
}

/**
 * Node answers an `Expect` other than `100-continue` with a bare 417 unless the server listens for
 * 'checkExpectation' (the request then never reaches Fastify): this answers it in the API's shape.
 */
export function answerExpectation(req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({ detail: 'Expectation failed: only Expect: 100-continue is supported' });
  res.writeHead(417, {
    ...RAW_SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    [REQUEST_ID_HEADER]: requestIdOf(req),
    Connection: 'close',
  });
  res.end(body);
}
