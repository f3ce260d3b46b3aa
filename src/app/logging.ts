import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { LogLevelName } from '../config/env.schema';
import { currentRequestId } from '../edge/request-context';

const ORDER: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** LOG_LEVEL names the most verbose level shown; `info` is Nest's `log`. */
export function logLevels(level: LogLevelName): LogLevel[] {
  const nest: LogLevel = level === 'info' ? 'log' : level;
  return ORDER.slice(0, ORDER.indexOf(nest) + 1);
}

/**
 * Nest's console logger, with `request_id=…` appended to every line written while a request is
 * served, so that all of a request's lines can be found from the X-Request-Id its client got.
 */
export class RequestLogger extends ConsoleLogger {
  protected override formatMessage(
    logLevel: LogLevel,
    message: unknown,
    pidMessage: string,
    formattedLogLevel: string,
    contextMessage: string,
    timestampDiff: string,
    params?: Record<string, unknown>,
  ): string {
    const requestId = currentRequestId();
    const tagged = requestId !== undefined && typeof message === 'string' ? `${message} request_id=${requestId}` : message;
    return super.formatMessage(logLevel, tagged, pidMessage, formattedLogLevel, contextMessage, timestampDiff, params);
  }
}
