import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { logEvent } from '../common/log-event';

/** Entries per XREAD: a burst is read in few calls, and one batch is handled before the next read. */
const BATCH = 1000;
/** How long one XREAD blocks; stop() does not wait for it (it disconnects). */
const BLOCK_MS = 10_000;
const RETRY_MS = 1000;

/** Job ids named by one batch of the events stream (BullMQ's `drained` and the like name none). */
export type TouchedJobs = Set<string>;

/**
 * Reads one queue's BullMQ events stream (`<prefix>:{<queue>}:events`) with one blocking XREAD at a
 * time on a connection of its own, from where it started, and hands each batch's job ids to
 * `onBatch`. The stream is Redis' own log of every job transition: BullMQ's scripts add to it, and
 * so do Sluice's (progress, cancel), so reading it costs one call per batch however many clients
 * watch, and pods see each other's submissions and every worker's moves.
 *
 * The position is kept here, so a reconnect resumes where it was and misses nothing, unless the
 * stream was trimmed (MAXLEN ~ 10,000) past it meanwhile; `onReconnect` lets the owner refresh
 * what it watches in that case.
 */
export class QueueEventReader {
  private readonly logger = new Logger(QueueEventReader.name);
  private position = '0-0';
  private stopped = false;
  private loop?: Promise<void>;
  private connectedOnce = false;

  constructor(
    private readonly redis: Redis,
    private readonly queue: string,
    private readonly streamKey: string,
    private readonly onBatch: (touched: TouchedJobs) => void,
    private readonly onReconnect: () => void,
  ) {
    this.redis.on('error', () => undefined);
    this.redis.on('ready', () => {
      if (this.connectedOnce) this.onReconnect();
      this.connectedOnce = true;
    });
  }

  /** Starts reading after the stream's last entry now: everything added from here on is seen. */
  async start(): Promise<void> {
    const last = (await this.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', 1)) as [string, string[]][];
    if (last.length > 0) this.position = last[0][0];
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // A blocked XREAD holds the connection; disconnecting rejects it at once.
    this.redis.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let reply: [string, [string, string[]][]][] | null;
      try {
        reply = (await this.redis.xread('COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.streamKey, this.position)) as typeof reply;
      } catch (err) {
        if (this.stopped) return;
        this.logger.warn(logEvent('Task events read failed', { queue: this.queue, error: (err as Error).message }));
        await new Promise((r) => setTimeout(r, RETRY_MS).unref());
        continue;
      }
      if (!reply) continue;
      const touched: TouchedJobs = new Set();
      for (const [id, fields] of reply[0][1]) {
        this.position = id;
        const jobId = fieldOf(fields, 'jobId');
        if (jobId !== undefined) touched.add(jobId);
      }
      if (touched.size > 0) this.onBatch(touched);
    }
  }
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
