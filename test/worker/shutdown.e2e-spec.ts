import { Queue } from 'bullmq';
import { execFileSync } from 'node:child_process';
import { freePort } from '../../src/app/embedded-redis';
import { TEST_API_KEY } from '../support/app';
import { spawnEntry } from '../support/process';
import { Stack, pidAlive } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(90_000);

/** Pids of the direct children of `pid` (the pool's child processes). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('worker process lifecycle', () => {
  let s: Stack;
  const workerEnv = (extra: Record<string, string> = {}) => ({
    REDIS_URL: s.redis.url,
    QUEUE_PREFIX: s.redis.prefix,
    API_KEYS: TEST_API_KEY,
    ENABLE_DIAGNOSTIC_TASKS: 'true',
    WORKER_CONCURRENCY: '1',
    TASK_MAX_RETRIES: '2',
    TASK_RETRY_BACKOFF: '0.5',
    TASK_RETRY_JITTER: 'false',
    WORKER_LOCK_DURATION: '1',
    WORKER_STALLED_INTERVAL: '0.5',
    LOG_LEVEL: 'warn',
    ...extra,
  });

  beforeAll(async () => {
    // The API here; workers run as their own processes, as in production.
    s = await Stack.start(
      { TASK_MAX_RETRIES: '2', TASK_RETRY_BACKOFF: '0.5', TASK_RETRY_JITTER: 'false', WORKER_LOCK_DURATION: '1', WORKER_STALLED_INTERVAL: '0.5' },
      { worker: false },
    );
  });
  afterAll(() => s.stop());

  it('on SIGTERM lets a running task finish, then exits 0', async () => {
    const w = spawnEntry('worker.ts', { ...workerEnv(), WORKER_PORT: String(await freePort()) });
    try {
      const id = await s.submit('diagnostic.sleep', { seconds: 1.5 });
      await s.until(id, 'processing', 20_000);
      w.child.kill('SIGTERM');
      const { code } = await w.exited;
      expect(code).toBe(0);
      const t = await s.get(id);
      expect(t.status).toBe('completed');
      expect(t.result).toMatchObject({ soft_limit_hit: false });
    } finally {
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  });

  it('at the shutdown deadline kills what is left and puts it back without using an attempt', async () => {
    const w = spawnEntry('worker.ts', { ...workerEnv(), WORKER_PORT: String(await freePort()) });
    const queue = new Queue('{cpu_intensive}', { connection: { url: s.redis.url }, prefix: s.redis.prefix });
    try {
      const id = await s.submit('diagnostic.cpu', { seconds: 60 });
      await s.until(id, 'processing', 20_000);
      const kids = childrenOf(w.child.pid!);
      expect(kids.length).toBeGreaterThan(0);
      // A second signal cuts the wait for running tasks short, as an impatient operator would.
      w.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      w.child.kill('SIGTERM');
      const { code } = await w.exited;
      expect(code).toBe(0);
      const t = await s.get(id);
      expect(t.status).toBe('pending');
      expect(t.attempts).toBe(0);
      const job = await queue.getJob(id);
      expect(await job?.getState()).toBe('waiting');
      expect(job?.attemptsMade).toBe(0);
      for (const pid of kids) expect(pidAlive(pid)).toBe(false);
      await s.cancel(id).expect(200);
    } finally {
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
      await queue.close();
    }
  });

  it('after SIGKILL of a whole worker, its child dies, and another worker retries the task with backoff', async () => {
    const a = spawnEntry('worker.ts', { ...workerEnv(), WORKER_PORT: String(await freePort()) });
    let b: ReturnType<typeof spawnEntry> | undefined;
    try {
      const id = await s.submit('diagnostic.sleep', { seconds: 2 });
      await s.until(id, 'processing', 20_000);
      const kids = childrenOf(a.child.pid!);
      expect(kids.length).toBeGreaterThan(0);
      a.child.kill('SIGKILL');
      await a.exited;
      // No child outlives its parent, even mid-task.
      await waitFor('the orphaned children to die', () => kids.every((pid) => !pidAlive(pid)), 3000, 50);

      b = spawnEntry('worker.ts', { ...workerEnv(), WORKER_PORT: String(await freePort()) });
      const retrying = await s.until(id, 'retrying', 20_000);
      expect(retrying.error?.type).toBe('WorkerLostError');
      expect(retrying.attempts).toBe(1);
      expect(retrying.next_retry_at).not.toBeNull();
      const done = await s.until(id, 'completed', 20_000);
      expect(done.attempts).toBe(2);
    } finally {
      for (const p of [a, b]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });
});
