import { Redis } from 'ioredis';
import { TEST_API_KEY } from '../support/app';
import { listenLocal } from '../support/raw-http';
import { SseClient, openSse, taskOf } from '../support/sse';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const KEY = { 'X-API-Key': TEST_API_KEY };
const STREAMS = 500;
/** From the moment every stream is open; the task runs 6 s after its submission for 1.5 s. */
const WINDOW_MS = 9000;

/** Calls per command since the server started, from INFO commandstats. */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1], Number(m[2]));
  return calls;
}

const delta = (after: Map<string, number>, before: Map<string, number>, names?: string[]): number =>
  [...after].filter(([n]) => !names || names.includes(n)).reduce((sum, [n, c]) => sum + c - (before.get(n) ?? 0), 0);

const clientCount = async (redis: Redis): Promise<number> => String(await redis.client('LIST')).trim().split('\n').length;

interface Run {
  streams: number;
  connections: number;
  /** Entries of the task in the queue's events stream while it ran. */
  events: number;
  /** Every command Redis ran meanwhile, scripts' own calls and the worker's included. */
  all: number;
  /** HMGET and XREAD calls meanwhile (the API's reads of the watched task and of the stream among them). */
  reads: number;
  sequences: Set<string>;
}

/**
 * 500 concurrent event streams on one API pod cost what one does: no Redis connection per client
 * (CLIENT LIST), and the same Redis work per event (INFO commandstats), since the pod reads the
 * queue's events stream once and reads a changed task once for all its watchers. A run without any
 * stream is the baseline: the worker's and the scripts' own commands.
 */
describe(`task events: ${STREAMS} concurrent streams`, () => {
  let s: Stack;
  let port: number;
  let raw: Redis;
  const runs: Run[] = [];
  const opened: number[] = [];
  const byCommand: Map<string, number>[] = [];

  beforeAll(async () => {
    // No alert evaluations meanwhile: their commands would weigh on one run more than another.
    s = await Stack.start({ WORKER_CONCURRENCY: '1', SSE_HEARTBEAT_INTERVAL: '60', ALERT_EVAL_INTERVAL: '3600' });
    port = await listenLocal(s.api);
    raw = new Redis(s.redis.url);
  });
  afterAll(async () => {
    raw.disconnect();
    await s.stop();
    const [base] = runs;
    console.log(
      runs
        .map(
          (r) =>
            `${r.streams} stream(s): ${r.connections} Redis connections, ${r.events} events, ` +
            `${(r.all / r.events).toFixed(2)} commands/event in all (${((r.all - base.all) / r.events).toFixed(2)} over no stream), ` +
            `HMGET+XREAD ${(r.reads / r.events).toFixed(2)}/event (${((r.reads - base.reads) / r.events).toFixed(2)} over no stream)`,
        )
        .join('\n') + `\nstreams open after ${opened.join(', ')} ms\n` +
        [...byCommand[2]].filter(([, v]) => v !== 0).map(([c, v]) => `${c}: ${byCommand.map((m) => m.get(c) ?? 0).join('/')}`).join(', '),
    );
  });

  async function watchOneTask(n: number): Promise<Run> {
    // Delayed, so that every stream is open before anything happens to the task.
    const res = await s.http().post('/api/v1/tasks').set(KEY).send({ task_name: 'diagnostic.sleep', payload: { seconds: 1.5, progress_steps: 10 }, options: { delay_seconds: 6 } }).expect(201);
    const submitted = Date.now();
    const id = res.body.task_id as string;
    const clients: SseClient[] = [];
    for (let i = 0; i < n; i += 50) {
      clients.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => openSse(port, `/api/v1/tasks/${id}/events`, KEY)))));
    }
    await waitFor('every stream to show the pending task', () => clients.every((c) => c.events.length > 0), 20_000);
    opened.push(Date.now() - submitted);
    expect(clients.every((c) => c.events.length === 1)).toBe(true);
    const connections = await clientCount(raw);
    const since = Date.now();
    const before = await commandCalls(raw);
    // Each run is measured over the same time, so that the timers' commands (lock renewals, alert
    // evaluations) weigh the same in each; without a stream, nothing else tells when the task is done.
    await Promise.all(clients.map((c) => c.ended));
    await new Promise((r) => setTimeout(r, Math.max(0, since + WINDOW_MS - Date.now())));
    const after = await commandCalls(raw);
    byCommand.push(new Map([...after].map(([c, v]) => [c, v - (before.get(c) ?? 0)])));
    if (n === 0) expect((await s.get(id)).status).toBe('completed');
    const entries = (await raw.xrange(`${s.redis.prefix}:{cpu_intensive}:events`, String(since), '+')) as [string, string[]][];
    const events = entries.filter(([, f]) => f[f.indexOf('jobId') + 1] === id).length;
    return {
      streams: n,
      connections,
      events,
      all: delta(after, before),
      reads: delta(after, before, ['hmget', 'xread']),
      sequences: new Set(clients.map((c) => c.events.map((e) => `${e.event}:${taskOf(e).status}:${taskOf(e).progress}`).join(' '))),
    };
  }

  it(`holds no Redis connection per client and costs the same Redis work per event with 1 and ${STREAMS} streams`, async () => {
    const none = await watchOneTask(0);
    const one = await watchOneTask(1);
    const many = await watchOneTask(STREAMS);
    runs.push(none, one, many);

    expect(many.connections).toBe(one.connections);
    for (const r of [one, many]) expect(r.events).toBeGreaterThanOrEqual(10);
    // Watching costs one HMGET of the task and at most one XREAD per event, however many watch.
    const watchCost = (r: Run): number => (r.reads - none.reads) / r.events;
    expect(watchCost(one)).toBeLessThanOrEqual(2.5);
    expect(watchCost(many)).toBeLessThanOrEqual(2.5);
    expect(Math.abs(watchCost(many) - watchCost(one))).toBeLessThanOrEqual(1);
    expect(Math.abs((many.all - one.all) / many.events)).toBeLessThanOrEqual(2);

    // Every stream saw the whole story, and all the same one.
    expect(many.sequences.size).toBe(1);
    const [story] = [...many.sequences];
    expect(story).toMatch(/^status:pending:0 status:processing:\d+ (progress:processing:\d+ )+status:completed:100$/);
  });
});
