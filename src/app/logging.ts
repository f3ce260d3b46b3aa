import { Logger as NestLogger } from '@nestjs/common';
import { Logger as PinoNestLogger, Params, PinoLogger } from 'nestjs-pino';
import pino, { DestinationStream, Level, LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import { setInfoProbe } from '../common/log-event';
import { LogFormat, LogLevelName } from '../config/env.schema';
import { currentRequestId } from '../edge/request-context';

export interface LogSettings {
  logLevel: LogLevelName;
  logFormat: LogFormat;
}

/** LOG_LEVEL in Nest's names; `verbose` is pino's `trace`. */
const PINO_LEVEL: Record<LogLevelName, Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** The seed's level names (Python logging's), which its operators grep for: `INFO:`, `WARNING:`. */
const SEED_LEVEL: Record<Level, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/** Headers that carry secrets; they are censored wherever a header object reaches a log line. */
const SECRET_HEADERS = ['x-api-key', 'authorization'];

/**
 * Nest's own start-up chatter (one line per module, route and mapped path: ~55 lines per boot)
 * is logged at debug: at info, a boot shows what an operator acts on.
 */
const CHATTER_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication']);

export function pinoOptions(level: LogLevelName): LoggerOptions {
  return {
    level: PINO_LEVEL[level],
    // No pid or hostname: Kubernetes adds the pod, and the keys stay the documented ones.
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: SEED_LEVEL[label as Level] ?? label.toUpperCase() }) },
    // Every line written while a request is served carries its id, as its client got it in X-Request-Id.
    mixin: () => {
      const requestId = currentRequestId();
      return requestId === undefined ? {} : { request_id: requestId };
    },
    redact: {
      paths: SECRET_HEADERS.flatMap((h) => [`headers["${h}"]`, `req.headers["${h}"]`]),
      censor: '[Redacted]',
    },
  };
}

/**
 * `json` writes pino's lines as they are. `pretty` writes `INFO: <msg>`, coloured only on a
 * terminal, so no ANSI code reaches a file or a pipe. Both write through `out.write`, synchronously,
 * so nothing is lost when the process exits right after a line.
 */
export function logDestination(format: LogFormat, out: NodeJS.WriteStream = process.stdout): DestinationStream {
  if (format === 'json') return out;
  return pretty({
    destination: out,
    sync: true,
    colorize: out.isTTY === true,
    hideObject: true,
    // An error's stack on the lines after its message, as a developer reads it.
    messageFormat: '{level}: {msg}{if request_id} request_id={request_id}{end}{if err.stack}\n{err.stack}{end}',
    ignore: 'time,level,context,request_id',
  });
}

/** nestjs-pino's Nest logger, with Nest's module-loading lines moved to debug. */
export class SluiceLogger extends PinoNestLogger {
  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams[optionalParams.length - 1];
    if (typeof context === 'string' && CHATTER_CONTEXTS.has(context)) this.debug(message, ...optionalParams);
    else super.log(message, ...optionalParams);
  }
}

let processLogger: SluiceLogger | undefined;

/**
 * The process' one logger (nestjs-pino keeps one root pino per process), made on first use with the
 * first format given; a process reads its configuration once, and the all-in-one `npm start` runs
 * the API and a worker on the same settings. The level is the latest given, for tests that start
 * apps of different levels in one process. It also becomes the logger of every `new Logger(context)`,
 * including lines logged before Nest starts.
 */
export function appLogger(settings: LogSettings): SluiceLogger {
  if (!processLogger) {
    const params: Params = { pinoHttp: [pinoOptions(settings.logLevel), logDestination(settings.logFormat)] };
    processLogger = new SluiceLogger(new PinoLogger(params), params);
    NestLogger.overrideLogger(processLogger);
    setInfoProbe(() => PinoLogger.root.isLevelEnabled('info'));
  }
  PinoLogger.root.level = PINO_LEVEL[settings.logLevel];
  return processLogger;
}
