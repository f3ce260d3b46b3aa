/**
 * The BullMQ peer: a Worker with BullMQ's own sandboxed processor (forked children, reused), at a
 * given concurrency, in a process of its own like Sluice's worker.
 *   PEER_REDIS_URL, PEER_PREFIX, PEER_QUEUE, PEER_CONCURRENCY
 */
import { join } from 'node:path';
import { Worker } from 'bullmq';

async function main(): Promise<void> {
  const worker = new Worker(process.env.PEER_QUEUE ?? 'peer', join(__dirname, 'noop-processor.js'), {
    prefix: process.env.PEER_PREFIX ?? 'peer',
    connection: { url: process.env.PEER_REDIS_URL, maxRetriesPerRequest: null, connectionName: 'peer:worker' },
    concurrency: Number(process.env.PEER_CONCURRENCY ?? 2),
  });
  worker.on('error', (err) => process.stderr.write(`peer worker error: ${err.message}\n`));
  await worker.waitUntilReady();
  process.stdout.write('PEER_READY\n');
  const stop = (): void => void worker.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`peer worker failed: ${err.stack}\n`);
  process.exit(1);
});
