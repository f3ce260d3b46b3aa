import { LogLevel } from '@nestjs/common';
import { LogLevelName } from '../config/env.schema';

const ORDER: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** LOG_LEVEL names the most verbose level shown; `info` is Nest's `log`. */
export function logLevels(level: LogLevelName): LogLevel[] {
  const nest: LogLevel = level === 'info' ? 'log' : level;
  return ORDER.slice(0, ORDER.indexOf(nest) + 1);
}
