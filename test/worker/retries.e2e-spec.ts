import request from 'supertest';
import { ChildPool } from '../../src/processor/pool/child-pool';
import { QueueConsumer } from '../../src/processor/queue-consumer';
import { Stack, TaskView } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

describe('worker: retries, crashes and recycling', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await Stack.start({
      WORKER_CONCURRENCY: '1',
      TASK_MAX_RETRIES: '2',
      TASK_RETRY_BACKOFF: '0.4',
      TASK_RETRY_BACKOFF_MAX: '10',
      TASK_RETRY_JITTER: 'false',
      WORKER_MAX_TASKS_PER_CHILD: '2',
    });
  });
  afterAll(() => s.stop());

  it('retries a failing task with growing delays, showing retrying and next_retry_at, then fails it', async () => {
    const id = await s.submit('diagnostic.fail', { message: 'boom' });
    const seen: TaskView[] = [];
    const final = await waitFor('the task to fail for good', async () => {
      const t = await s.get(id);
      if (t.status === 'retrying' && !seen.some((x) => x.attempts === t.attempts)) seen.push(t);
      return t.status === 'failed' ? t : undefined;
    }, 20_000, 10);
    expect(final.attempts).toBe(3);
    expect(final.error).toEqual({ type: 'Error', message: 'boom' });
    expect(final.next_retry_at).toBeNull();
    expect(seen.map((t) => t.attempts)).toEqual([1, 2]);
    const delays = seen.map((t) => new Date(t.next_retry_at!).getTime() - new Date(t.finished_at!).getTime());
    expect(delays).toEqual([400, 800]);
    expect(seen[0].error).toEqual({ type: 'Error', message: 'boom' });
  });

  it('retries no more than the submission asked for (options.max_retries)', async () => {
    const id = await s.submit('diagnostic.fail', { message: 'once' }, { max_retries: 0 });
    expect((await s.get(id)).max_retries).toBe(0);
    const final = await s.until(id, 'failed');
    expect(final.attempts).toBe(1);
    expect(final.error).toEqual({ type: 'Error', message: 'once' });
  });

  it('fails a NonRetryableTaskError at once, without retries', async () => {
    const id = await s.submit('diagnostic.fail', { message: 'bad input', retryable: false });
    const t = await s.until(id, 'failed');
    expect(t.attempts).toBe(1);
    expect(t.error).toEqual({ type: 'NonRetryableTaskError', message: 'bad input' });
  });

  it('fails a crashed child with WorkerLostError, retries it, and keeps the pool full', async () => {
    const id = await s.submit('diagnostic.crash', {});
    const t = await s.until(id, 'failed', 20_000);
    expect(t.error?.type).toBe('WorkerLostError');
    expect(t.attempts).toBe(3);
    await waitFor('a live child in every slot', () => s.worker!.get(ChildPool).slots().every((x) => x.pid !== null));
  });

  it('replaces a child after WORKER_MAX_TASKS_PER_CHILD tasks, as pids show, and stays ready meanwhile', async () => {
    const consumer = s.worker!.get(QueueConsumer);
    let notUp = 0;
    const sampler = setInterval(() => (notUp += consumer.up ? 0 : 1), 5);
    const pids: number[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const t = await s.until(await s.submit('diagnostic.sleep', { seconds: 0 }), 'completed');
        pids.push(t.result!.pid as number);
      }
    } finally {
      clearInterval(sampler);
    }
    expect(notUp).toBe(0);
    await request(s.worker!.getHttpServer()).get('/health/ready').expect(200);
    // Runs of the same pid: after the first (its child may have run a task already), each is 2 long.
    const runs: number[] = [];
    pids.forEach((pid, i) => (i > 0 && pid === pids[i - 1] ? runs[runs.length - 1]++ : runs.push(1)));
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(runs[0]).toBeLessThanOrEqual(2);
    expect(runs.slice(1, -1).every((n) => n === 2)).toBe(true);
    expect(new Set(pids).size).toBe(runs.length);
  });
});
