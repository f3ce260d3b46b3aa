import { INestApplication, Logger } from '@nestjs/common';
import { logEvent } from '../common/log-event';

export interface SignalOptions {
  /** After closing the apps (npm start stops its embedded Redis here). */
  after?: () => Promise<void>;
  /** A second signal during a graceful drain: stop waiting (the worker puts running tasks back). */
  onRepeat?: () => void;
  /** Closing can hang while Redis is unreachable (BullMQ waits for it); exit 1 after this long. */
  deadlineMs?: number;
}

const DEFAULT_CLOSE_DEADLINE_MS = 5_000;

/**
 * Closes the apps on SIGTERM/SIGINT and exits 0. Nest's own shutdown hooks re-raise the signal,
 * which would report a graceful drain as a kill (exit 143).
 */
export function closeOnSignals(apps: INestApplication[], options: SignalOptions = {}): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) {
      new Logger('Shutdown').warn(logEvent('Second signal, not waiting for running tasks', { signal: signal }));
      options.onRepeat?.();
      return;
    }
    stopping = true;
    new Logger('Shutdown').log(logEvent('Shutting down', { signal: signal }));
    const deadlineMs = options.deadlineMs ?? DEFAULT_CLOSE_DEADLINE_MS;
    setTimeout(() => {
      new Logger('Shutdown').error(logEvent('Shutdown did not finish in time', { deadline_ms: deadlineMs }));
      process.exit(1);
    }, deadlineMs).unref();
    const results = await Promise.allSettled(apps.map((a) => a.close()));
    await options.after?.();
    process.exit(results.some((r) => r.status === 'rejected') ? 1 : 0);
  };
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, (sig: NodeJS.Signals) => void stop(sig));
}
