import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import {
  CallbackUrlRefusedError,
  IdempotencyConflictError,
  InvalidLimitsError,
  InvalidPayloadError,
  LimitAboveCapError,
  StoreUnavailableError,
  TaskNotCancellableError,
  TaskNotFoundError,
  UnknownTaskNameError,
} from '../tasks/task.errors';
import { QueueNotFoundError, TaskNotRetryableError } from '../tasks/operator/operator.errors';
import { logEvent } from './log-event';

interface Reply {
  status(code: number): Reply;
  header(name: string, value: string): Reply;
  send(body: unknown): void;
}

const DOMAIN_STATUS = new Map<Function, number>([
  [TaskNotFoundError, HttpStatus.NOT_FOUND],
  [QueueNotFoundError, HttpStatus.NOT_FOUND],
  [TaskNotRetryableError, HttpStatus.CONFLICT],
  [UnknownTaskNameError, HttpStatus.UNPROCESSABLE_ENTITY],
  [InvalidPayloadError, HttpStatus.UNPROCESSABLE_ENTITY],
  [LimitAboveCapError, HttpStatus.UNPROCESSABLE_ENTITY],
  [InvalidLimitsError, HttpStatus.UNPROCESSABLE_ENTITY],
  [CallbackUrlRefusedError, HttpStatus.UNPROCESSABLE_ENTITY],
  [IdempotencyConflictError, HttpStatus.CONFLICT],
  [TaskNotCancellableError, HttpStatus.BAD_REQUEST],
  [StoreUnavailableError, HttpStatus.SERVICE_UNAVAILABLE],
]);

/**
 * The HTTP status of a domain error, for per-item results that do not go through the filter too.
 * Matched by class, subclasses included (OutcomeUnknownError is a StoreUnavailableError).
 */
export function domainStatus(error: unknown): number | undefined {
  if (!(error instanceof Error)) return undefined;
  for (const [type, status] of DOMAIN_STATUS) if (error instanceof type) return status;
  return undefined;
}

/**
 * A plain error that Fastify marked as the client's (a 4xx `statusCode`): the request stream failing
 * while the body is read, such as a client that hung up mid-upload. Not a server fault, so it is
 * neither logged with a stack nor answered 500.
 */
function clientFault(exception: unknown): { status: number; body: { detail: string } } | undefined {
  if (!(exception instanceof Error)) return undefined;
  const { statusCode, code } = exception as Error & { statusCode?: unknown; code?: unknown };
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode > 499) return undefined;
  const detail = code === 'ECONNRESET' ? 'Request aborted by the client' : (STATUS_CODES[statusCode] ?? 'Bad request');
  return { status: statusCode, body: { detail } };
}

/** The log line of an unexpected error: its message as a field, its stack under `err` (pino's serializer). */
function failure(exception: unknown): { msg: string; err: Error } {
  const err = exception instanceof Error ? exception : new Error(String(exception));
  return { ...logEvent('Request failed', { error: err.message }), err };
}

/** Every error leaves as `{"detail": ...}`; an unexpected one is logged with its stack and never shown. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<Reply>();
    const { status, body } = this.describe(exception);
    reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  private describe(exception: unknown): { status: number; body: Record<string, unknown> } {
    const domain = domainStatus(exception);
    if (domain !== undefined) {
      if (domain === HttpStatus.SERVICE_UNAVAILABLE) this.logger.warn((exception as Error).message);
      return { status: domain, body: { detail: (exception as Error).message } };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === 'string') return { status, body: { detail: response } };
      const r = response as Record<string, unknown>;
      // Terminus' 503 body says which check failed; keep it, with the usual detail beside it.
      if ('details' in r && 'status' in r) return { status, body: { detail: 'Service unavailable', ...r } };
      const message = r.message;
      const detail = Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : exception.message;
      if (status >= 500) this.logger.error(failure(exception));
      return { status, body: { detail } };
    }
    const client = clientFault(exception);
    if (client) return client;
    this.logger.error(failure(exception));
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, body: { detail: 'Internal server error' } };
  }
}
