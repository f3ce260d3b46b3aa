/**
 * FAULT INJECTED: Redis frozen with SIGSTOP for longer than the API's Redis command timeout (3 s,
 * FAIL_FAST_OPTIONS.commandTimeout) while ~30 clients submit `diagnostic.sleep` tasks, then resumed
 * with SIGCONT. A command that timed out is still on the socket, and a resumed Redis runs it, so a
 * 503 means "outcome unknown", never "not written".
 *
 * (a) with an idempotency_key each, clients retrying every 503 with the same key: each key is one
 *     task that really runs to completed, counted once.
 * (b) without keys: every task that exists after the resume reaches a final state, and the
 *     counters agree with the tasks listed.
 *
 * Each case runs its own redis-server, with the API and a worker in this process (the worker's
 * BullMQ connections have no command timeout, so they just wait out the freeze).
 */
import { Queue } from 'bullmq';
import { setTimeout as delay } from 'node:timers/promises';
import { FAIL_FAST_OPTIONS } from '../../src/redis/redis.factory';
import { idempotentTaskId } from '../../src/tasks/task-id.util';
import { TEST_API_KEY } from '../support/app';
import { FINAL_STATUSES, freeze, jsonMetrics, listAllTasks, promSum, thaw } from '../support/faults';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

const CLIENTS = 30;
const COMMAND_TIMEOUT_MS = FAIL_FAST_OPTIONS.commandTimeout!;
/** The freeze lasts at least this long, and until every client has had an answer. */
const MIN_FREEZE_MS = COMMAND_TIMEOUT_MS + 500;
const QUEUE = 'cpu_intensive';
const SLEEP = { task_name: 'diagnostic.sleep', payload: { seconds: 0 } };

interface Answer {
  status: number;
  body: { task_id?: string; detail?: string; status?: string };
}

function redisPid(s: Stack): number {
  const pid = s.redis.embedded?.process.pid;
  if (!pid) throw new Error('this suite freezes its own redis-server; unset REDIS_URL');
  return pid;
}

/** This process' Prometheus counter (the API and the worker share the default registry, across cases). */
async function succeededRuns(s: Stack, metric = 'sluice_task_succeeded_total'): Promise<number> {
  return promSum((await s.http().get('/metrics').expect(200)).text, metric, { task_name: 'diagnostic.sleep' });
}

async function post(s: Stack, body: object): Promise<Answer> {
  const res = await s.http().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).timeout(20_000).send(body);
  return { status: res.status, body: res.body };
}

/**
 * Freezes Redis, runs the clients, and thaws Redis once the freeze has outlasted the command
 * timeout and every client has had at least one answer (so every client met the freeze).
 */
async function duringFreeze<T>(s: Stack, clients: ((answers: Answer[]) => Promise<T>)[]): Promise<{ results: T[]; answers: Answer[][]; frozenMs: number }> {
  const pid = redisPid(s);
  const answers: Answer[][] = clients.map(() => []);
  const frozenAt = Date.now();
  freeze(pid);
  let frozenMs = 0;
  try {
    const running = clients.map((run, i) => run(answers[i]));
    await waitFor('every client to meet the frozen Redis', () => Date.now() - frozenAt >= MIN_FREEZE_MS && answers.every((a) => a.length > 0), 20_000, 50);
    frozenMs = Date.now() - frozenAt;
    thaw(pid);
    return { results: await Promise.all(running), answers, frozenMs };
  } finally {
    thaw(pid);
  }
}

describe('Redis frozen past the command timeout while clients submit', () => {
  let s: Stack | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });

  it('(a) idempotent retries: each key is one task that runs to completed once, counted once', async () => {
    s = await Stack.start({ WORKER_CONCURRENCY: '4' });
    const stack = s;
    const keys = Array.from({ length: CLIENTS }, (_, i) => `freeze-key-${i}`);
    const [succeededBefore, startedBefore] = [await succeededRuns(stack), await succeededRuns(stack, 'sluice_task_started_total')];

    // Each client retries a 503 with the same key until it gets 200/201 (or gives up at 40 s).
    const clients = keys.map((key) => async (answers: Answer[]) => {
      const deadline = Date.now() + 40_000;
      for (;;) {
        const a = await post(stack, { ...SLEEP, options: { idempotency_key: key } });
        answers.push(a);
        if (a.status !== 503 || Date.now() > deadline) return a;
        await delay(50);
      }
    });
    const { results, answers, frozenMs } = await duringFreeze(stack, clients);
    expect(frozenMs).toBeGreaterThan(COMMAND_TIMEOUT_MS);

    // Nothing but 503 and then 200/201: a timed-out submission is an unknown outcome, not an error.
    const all = answers.flat();
    expect(all.filter((a) => ![200, 201, 503].includes(a.status)).slice(0, 3)).toEqual([]);
    // The unknown outcome is said so, with the way out.
    const unavailable = all.filter((a) => a.status === 503);
    expect(unavailable.length).toBeGreaterThanOrEqual(CLIENTS);
    for (const a of unavailable) {
      expect(a.body.detail).toMatch(/outcome is unknown/i);
      expect(a.body.detail).toMatch(/retry with the same idempotency_key is safe/i);
    }

    // Each key: one task, with the id derived from the queue and the key, created at most once.
    const expectedIds = keys.map((k) => idempotentTaskId(QUEUE, k));
    expect(new Set(expectedIds).size).toBe(CLIENTS);
    results.forEach((final, i) => {
      expect([200, 201]).toContain(final.status);
      expect(final.body.task_id).toBe(expectedIds[i]);
      const created = answers[i].filter((a) => a.status === 201).length;
      expect(created).toBeLessThanOrEqual(1);
      for (const a of answers[i]) if (a.status < 300) expect(a.body.task_id).toBe(expectedIds[i]);
    });

    // Every task really runs to completed (a task whose job was never written would stay pending).
    for (const id of expectedIds) {
      const t = await stack.until(id, 'completed', 20_000);
      expect(t.attempts).toBe(1);
      expect(t.error).toBeNull();
    }

    // The API lists exactly these tasks, once each.
    const listed = await listAllTasks(stack, 7);
    expect(listed.map((t) => t.task_id).sort()).toEqual([...expectedIds].sort());

    // The job itself is completed in BullMQ, run once.
    const queue = new Queue(`{${QUEUE}}`, { connection: { url: stack.redis.url }, prefix: stack.redis.prefix });
    try {
      for (const id of expectedIds) {
        const job = await queue.getJob(id);
        expect({ id, state: await job?.getState(), attemptsMade: job?.attemptsMade }).toEqual({ id, state: 'completed', attemptsMade: 1 });
      }
    } finally {
      await queue.close();
    }

    // Counted once per key, in Redis' counters and in the worker's Prometheus counters.
    const m = await jsonMetrics(stack);
    expect(m).toMatchObject({ total_tasks: CLIENTS, completed_tasks: CLIENTS, failed_tasks: 0, retried_tasks: 0, cancelled_tasks: 0, currently_running: 0 });
    expect((await succeededRuns(stack)) - succeededBefore).toBe(CLIENTS);
    expect((await succeededRuns(stack, 'sluice_task_started_total')) - startedBefore).toBe(CLIENTS);
  });

  it('(b) without keys: every task that exists reaches a final state, and total_tasks equals the tasks listed', async () => {
    s = await Stack.start({ WORKER_CONCURRENCY: '4' });
    const stack = s;
    const succeededBefore = await succeededRuns(stack);

    // Each client submits until it has one 201 (a 503 here cannot be retried safely, but a client
    // that needs its task submits again: that is what makes ghosts and duplicates matter).
    const clients = Array.from({ length: CLIENTS }, () => async (answers: Answer[]) => {
      for (let i = 0; i < 20; i++) {
        const a = await post(stack, SLEEP);
        answers.push(a);
        if (a.status !== 503) return a;
        await delay(50);
      }
      return answers[answers.length - 1];
    });
    const { answers, frozenMs } = await duringFreeze(stack, clients);
    const resumedAt = Date.now();
    expect(frozenMs).toBeGreaterThan(COMMAND_TIMEOUT_MS);

    const all = answers.flat();
    const unavailable = all.filter((a) => a.status === 503);
    const created = all.filter((a) => a.status === 201);
    // Every client met the freeze (a 503), then got its task.
    expect(all.filter((a) => ![201, 503].includes(a.status)).slice(0, 3)).toEqual([]);
    expect(unavailable.length).toBeGreaterThanOrEqual(CLIENTS);
    expect(created).toHaveLength(CLIENTS);
    for (const a of unavailable) expect(a.body.detail).toMatch(/outcome is unknown|nothing was submitted/i);

    // Every task that exists (201s, and the 503s that Redis applied on resume) reaches a final
    // state: none is left pending without a job.
    const createdIds = created.map((a) => a.body.task_id!);
    const finals = await waitFor(
      'every listed task to reach a final state',
      async () => {
        const tasks = await listAllTasks(stack, 25);
        return tasks.every((t) => FINAL_STATUSES.has(t.status)) ? tasks : undefined;
      },
      20_000,
      200,
    );
    const settledMs = Date.now() - resumedAt;
    const ids = finals.map((t) => t.task_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(createdIds));
    // Each 503 was applied whole or not at all: never more tasks than submissions.
    expect(finals.length).toBeGreaterThanOrEqual(created.length);
    expect(finals.length).toBeLessThanOrEqual(created.length + unavailable.length);
    expect(finals.filter((t) => t.status !== 'completed')).toEqual([]);

    // One truth: each listed task is a BullMQ job in the same state.
    const queue = new Queue(`{${QUEUE}}`, { connection: { url: stack.redis.url }, prefix: stack.redis.prefix });
    try {
      for (const t of finals) {
        const job = await queue.getJob(t.task_id);
        expect({ id: t.task_id, state: await job?.getState() }).toEqual({ id: t.task_id, state: 'completed' });
      }
    } finally {
      await queue.close();
    }

    const m = await jsonMetrics(stack);
    expect(m.total_tasks).toBe(finals.length);
    expect(m.completed_tasks).toBe(finals.length);
    expect(m).toMatchObject({ failed_tasks: 0, retried_tasks: 0, cancelled_tasks: 0, currently_running: 0 });
    expect((await succeededRuns(stack)) - succeededBefore).toBe(finals.length);
    // For the record: how many of the 503s were in fact applied.
    console.log(`redis-freeze (b): ${unavailable.length} answers 503, ${created.length} 201, ${finals.length} tasks exist, frozen ${frozenMs} ms, all final ${settledMs} ms after the resume`);
  });
});
