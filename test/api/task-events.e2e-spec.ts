import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { TEST_API_KEY, startApi, testConfig } from '../support/app';
import { listenLocal } from '../support/raw-http';
import { SseClient, SseEvent, openSse, taskOf } from '../support/sse';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { captureOutput } from '../support/output';
import { TaskWatch } from '../../src/task-events/task-watch.service';

jest.setTimeout(60_000);

const KEY = { 'X-API-Key': TEST_API_KEY };
const basic = (password: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`browser:${password}`).toString('base64')}` });
const statuses = (c: SseClient): string[] => c.events.filter((e) => e.event === 'status').map((e) => taskOf(e).status);

/**
 * GET /api/v1/tasks/{id}/events (Server-Sent Events) and GET /api/v1/tasks/{id}?wait=N, against a
 * real Redis and a real worker with child processes.
 */
describe('task events: SSE and long polls', () => {
  let s: Stack;
  let port: number;
  const events = (id: string, headers: Record<string, string> = KEY) => openSse(port, `/api/v1/tasks/${id}/events`, headers);

  beforeAll(async () => {
    s = await Stack.start({
      WORKER_CONCURRENCY: '2',
      TASK_MAX_RETRIES: '1',
      TASK_RETRY_BACKOFF: '0.3',
      TASK_RETRY_JITTER: 'false',
      WORKER_CANCEL_GRACE: '0.5',
      SSE_HEARTBEAT_INTERVAL: '0.2',
      // Shorter than the streams below: the receive timeouts must not cut a long answer.
      API_REQUEST_TIMEOUT: '1',
      API_HEADERS_TIMEOUT: '1',
    });
    port = await listenLocal(s.api);
  });
  afterAll(() => s.stop());

  it('streams a task from queued through running and its progress to completed, then ends', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 1.2, progress_steps: 4 });
    const c = await events(id);
    expect(c.status).toBe(200);
    expect(c.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(c.headers['cache-control']).toBe('no-cache');
    await c.ended;

    // The first event is the task as GET showed it on connect; every event carries the task as GET shows it.
    expect(c.events[0].event).toBe('status');
    expect(['pending', 'processing']).toContain(taskOf(c.events[0]).status);
    const seen = statuses(c);
    expect(seen.at(-1)).toBe('completed');
    expect(seen).toContain('processing');
    expect(seen.filter((x) => x === 'completed')).toHaveLength(1);
    const last = taskOf(c.events.at(-1)!);
    expect(last).toEqual(await s.get(id));
    expect(last.result).toMatchObject({ soft_limit_hit: false });

    const progress = c.events.filter((e) => e.event === 'progress').map((e) => taskOf(e));
    expect(progress.length).toBeGreaterThanOrEqual(3);
    for (const p of progress) expect(p.status).toBe('processing');
    const pcts = progress.map((p) => p.progress);
    expect(pcts).toEqual([...pcts].sort((a, b) => a - b));
    expect(pcts).toEqual(expect.arrayContaining([25, 50, 75]));
    // Ids name states: all distinct, so a resumed stream can tell what the client has.
    expect(new Set(c.events.map((e) => e.id)).size).toBe(c.events.length);
    expect(c.events.every((e) => /^[A-Za-z0-9_-]{22}$/.test(e.id ?? ''))).toBe(true);
  });

  it('resumes after Last-Event-ID with later events only, and answers 204 once the final state was seen', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 2, progress_steps: 10 });
    const first = await events(id);
    const firstProgress = await first.next((e) => e.event === 'progress' && taskOf(e).progress >= 20);
    first.close();
    const lastSeen = taskOf(firstProgress);

    // Nothing changed yet: a resume sends nothing again, only what comes next.
    const resumed = await events(id, { ...KEY, 'Last-Event-ID': firstProgress.id! });
    expect(resumed.status).toBe(200);
    await resumed.ended;
    expect(resumed.events.length).toBeGreaterThan(0);
    expect(resumed.events.map((e) => e.id)).not.toContain(firstProgress.id);
    for (const e of resumed.events) expect(taskOf(e).progress).toBeGreaterThan(lastSeen.progress);
    expect(statuses(resumed).at(-1)).toBe('completed');

    // An EventSource reconnects after the server closed: with the final state's id it gets 204 and stops.
    const final = resumed.events.at(-1)!;
    const again = await events(id, { ...KEY, 'Last-Event-ID': final.id! });
    expect(again.status).toBe(204);
    await again.ended;
    expect(again.events).toEqual([]);

    // Another id (a stale or foreign one) gets the task as it is now, and the stream ends at once.
    const stale = await events(id, { ...KEY, 'Last-Event-ID': firstProgress.id! });
    await stale.ended;
    expect(stale.events.map((e) => taskOf(e).status)).toEqual(['completed']);
  });

  it('ends the stream of a running task that is cancelled with cancelled', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 30 });
    const c = await events(id);
    await c.next((e) => taskOf(e).status === 'processing');
    await s.cancel(id);
    await c.ended;
    expect(statuses(c).at(-1)).toBe('cancelled');
    expect(taskOf(c.events.at(-1)!)).toEqual(await s.get(id));
    expect(taskOf(c.events.at(-1)!)).toMatchObject({ status: 'cancelled', cancelled_at: expect.any(String) });
  });

  it('ends the stream of a waiting task that is cancelled with cancelled (an event Sluice adds)', async () => {
    const res = await s.http().post('/api/v1/tasks').set(KEY).send({ task_name: 'diagnostic.sleep', payload: { seconds: 1 }, options: { delay_seconds: 60 } }).expect(201);
    const id = res.body.task_id as string;
    const c = await events(id);
    await c.next((e) => taskOf(e).status === 'pending');
    await s.cancel(id).expect(200);
    await c.ended;
    expect(statuses(c)).toEqual(['pending', 'cancelled']);
  });

  it('shows retries: processing, retrying, processing again, then failed', async () => {
    // Delayed, so the stream is open before the first run: diagnostic.fail fails at once, and a
    // stream opened after that would start at retrying.
    const id = await s.submit('diagnostic.fail', { message: 'boom' }, { delay_seconds: 1 });
    const c = await events(id);
    await c.ended;
    expect(statuses(c)[0]).toBe('pending');
    expect(statuses(c).filter((x) => x !== 'pending')).toEqual(['processing', 'retrying', 'processing', 'failed']);
    const retrying = c.events.map(taskOf).find((t) => t.status === 'retrying')!;
    expect(retrying).toMatchObject({ attempts: 1, error: { type: 'Error', message: 'boom' }, next_retry_at: expect.any(String) });
  });

  it('sends a comment every SSE_HEARTBEAT_INTERVAL and stays open past API_REQUEST_TIMEOUT', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 30 });
    const c = await events(id);
    await waitFor('heartbeats for 1.5 s', () => c.comments.length >= 7, 5000);
    expect(c.isEnded()).toBe(false);
    const gaps = c.comments.slice(1).map((t, i) => t - c.comments[i]);
    for (const g of gaps) expect(g).toBeLessThan(600);
    // A client that leaves is no longer watched.
    expect(s.api.get(TaskWatch).watching).toBe(1);
    c.close();
    await waitFor('no watcher left', () => s.api.get(TaskWatch).watching === 0, 2000);
    await s.cancel(id);
  });

  it('takes HTTP Basic with a key as the password, as an EventSource sends it; a missing or wrong key gets 401 with a Basic challenge', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 0.1 });
    const ok = await events(id, basic(TEST_API_KEY));
    expect(ok.status).toBe(200);
    await ok.ended;
    expect(statuses(ok).at(-1)).toBe('completed');

    for (const headers of [{}, basic('wrong-key-0123456789'), { 'X-API-Key': 'wrong-key-0123456789' }]) {
      const refused = await events(id, headers);
      await refused.ended;
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Basic realm="Sluice"');
      expect(JSON.parse(refused.text)).toEqual({ detail: expect.any(String) });
    }
    // Basic stays limited to the UI and the event streams.
    const get = await s.http().get(`/api/v1/tasks/${id}`).set(basic(TEST_API_KEY)).expect(401);
    expect(get.headers['www-authenticate']).toBeUndefined();
  });

  it('answers HEAD with the stream headers and no body, and stops watching', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 30 });
    const res = await s.http().head(`/api/v1/tasks/${id}/events`).set(KEY).timeout(3000);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await waitFor('no watcher left', () => s.api.get(TaskWatch).watching === 0, 2000);
    await s.cancel(id);
  });

  it('answers 404 with detail for an unknown or malformed task id', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) {
      const c = await events(id);
      await c.ended;
      expect(c.status).toBe(404);
      expect(JSON.parse(c.text)).toEqual({ detail: 'Task not found' });
    }
  });

  describe('GET /api/v1/tasks/{id}?wait=N', () => {
    const get = (id: string, query: string) => s.http().get(`/api/v1/tasks/${id}?${query}`).set(KEY);

    it('answers as soon as the task is final', async () => {
      const id = await s.submit('diagnostic.sleep', { seconds: 0.5 });
      const started = Date.now();
      const res = await get(id, 'wait=20').expect(200);
      expect(res.body.status).toBe('completed');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.body).toEqual(await s.get(id));
    });

    it('answers after N seconds with the state then when the task is not final', async () => {
      const id = await s.submit('diagnostic.sleep', { seconds: 30 });
      await s.until(id, 'processing');
      const started = Date.now();
      const res = await get(id, 'wait=0.8').expect(200);
      const took = Date.now() - started;
      expect(res.body.status).toBe('processing');
      expect(took).toBeGreaterThanOrEqual(750);
      expect(took).toBeLessThan(3000);
      await s.cancel(id);
    });

    it('answers at once for a final task, and for wait=0', async () => {
      const id = await s.submit('diagnostic.sleep', { seconds: 0 });
      await s.until(id, 'completed');
      const started = Date.now();
      expect((await get(id, 'wait=60').expect(200)).body.status).toBe('completed');
      const waiting = await s.http().post('/api/v1/tasks').set(KEY).send({ task_name: 'diagnostic.sleep', payload: { seconds: 1 }, options: { delay_seconds: 60 } });
      expect((await get(waiting.body.task_id, 'wait=0').expect(200)).body.status).toBe('pending');
      expect(Date.now() - started).toBeLessThan(1000);
      await s.cancel(waiting.body.task_id);
    });

    it.each(['wait=61', 'wait=-1', 'wait=abc', 'wait=', 'wait=1e1', 'other=1'])('answers 422 with detail for %s', async (query) => {
      const res = await get('00000000-0000-4000-8000-000000000000', query).expect(422);
      expect(res.body).toEqual({ detail: expect.any(String) });
    });

    it('answers 404 for an unknown task', async () => {
      await get('00000000-0000-4000-8000-000000000000', 'wait=1').expect(404);
    });
  });

  describe('OpenAPI', () => {
    it('documents the stream as text/event-stream (streamTaskEvents) and wait on getTask', async () => {
      const doc = (await s.http().get('/docs-json').expect(200)).body;
      const stream = doc.paths['/api/v1/tasks/{task_id}/events'].get;
      expect(stream.operationId).toBe('streamTaskEvents');
      expect(Object.keys(stream.responses['200'].content)).toEqual(['text/event-stream']);
      expect(stream.security).toEqual(expect.arrayContaining([{ basic: [] }]));
      expect(doc.components.securitySchemes.basic).toMatchObject({ type: 'http', scheme: 'basic' });
      const get = doc.paths['/api/v1/tasks/{task_id}'].get;
      expect(get.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'wait', in: 'query', schema: expect.objectContaining({ maximum: 60 }) })]));
    });
  });
});

/** Two API pods on one Redis: what a stream or a long poll on one sees is what happens anywhere. */
describe('task events across API pods', () => {
  let s: Stack;
  let podB: NestFastifyApplication;
  let portA: number;

  beforeAll(async () => {
    s = await Stack.start({ WORKER_CONCURRENCY: '1' });
    podB = await startApi(s.config);
    portA = await listenLocal(s.api);
  });
  afterAll(async () => {
    await podB.close();
    await s.stop();
  });

  it('streams on pod A a task submitted on pod B and run by the worker, and answers a long poll on A', async () => {
    const deferred = await request(podB.getHttpServer())
      .post('/api/v1/tasks')
      .set(KEY)
      .send({ task_name: 'diagnostic.sleep', payload: { seconds: 0.6, progress_steps: 3 }, options: { delay_seconds: 0.5 } })
      .expect(201);
    const id = deferred.body.task_id as string;
    const c = await openSse(portA, `/api/v1/tasks/${id}/events`, KEY);
    const poll = request(s.api.getHttpServer()).get(`/api/v1/tasks/${id}?wait=20`).set(KEY);
    await c.ended;
    expect(statuses(c)).toEqual(['pending', 'processing', 'completed']);
    expect(c.events.filter((e: SseEvent) => e.event === 'progress').length).toBeGreaterThanOrEqual(1);
    expect((await poll.expect(200)).body.status).toBe('completed');
  });

  it('ends a stream on pod A when pod B cancels the task', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 30 });
    const c = await openSse(portA, `/api/v1/tasks/${id}/events`, KEY);
    await c.next((e) => taskOf(e).status === 'processing');
    await request(podB.getHttpServer()).delete(`/api/v1/tasks/${id}`).set(KEY);
    await c.ended;
    expect(statuses(c).at(-1)).toBe('cancelled');
  });
});

describe('task events at shutdown', () => {
  it('ends open streams and long polls, so app.close() does not wait for them', async () => {
    const s = await Stack.start({}, { worker: false });
    const port = await listenLocal(s.api);
    const res = await s.http().post('/api/v1/tasks').set(KEY).send({ task_name: 'diagnostic.sleep', payload: { seconds: 1 } }).expect(201);
    const id = res.body.task_id as string;
    const streams = await Promise.all([1, 2, 3].map(() => openSse(port, `/api/v1/tasks/${id}/events`, KEY)));
    await Promise.all(streams.map((c) => c.next()));
    const poll = request(s.api.getHttpServer()).get(`/api/v1/tasks/${id}?wait=30`).set(KEY).then((r) => r);
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await s.api.close();
    expect(Date.now() - started).toBeLessThan(2000);
    await Promise.all(streams.map((c) => c.ended));
    expect((await poll).body.status).toBe('pending');
    await s.redis.stop();
  });
});

/** Last: the log level is the process's, and this raises it to info for the suites after it. */
describe('task events in the access log', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await Stack.start({ WORKER_CONCURRENCY: '1' });
  });
  afterAll(() => s.stop());

  it('writes one access-log line per stream, when it ends, also when the client leaves', async () => {
    const app = await startApi(testConfig(s.redis, { LOG_LEVEL: 'info', LOG_FORMAT: 'json' }));
    const appPort = await listenLocal(app);
    const done = await s.submit('diagnostic.sleep', { seconds: 0.1 });
    const running = await s.submit('diagnostic.sleep', { seconds: 30 });
    const output = await captureOutput(async () => {
      const a = await openSse(appPort, `/api/v1/tasks/${done}/events`, { ...KEY, 'X-Request-Id': 'sse-ended' });
      await a.ended;
      const b = await openSse(appPort, `/api/v1/tasks/${running}/events`, { ...KEY, 'X-Request-Id': 'sse-left' });
      await b.next();
      b.close();
      await new Promise((r) => setTimeout(r, 200));
    });
    await app.close();
    await s.cancel(running);
    const lines = output.split('\n').filter((l) => l.includes('"HTTP request')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const of = (rid: string) => lines.filter((l) => l.request_id === rid);
    expect(of('sse-ended')).toEqual([expect.objectContaining({ route: '/api/v1/tasks/:task_id/events', status: 200 })]);
    expect(of('sse-ended')[0].client_closed).toBeUndefined();
    expect(of('sse-left')).toEqual([expect.objectContaining({ route: '/api/v1/tasks/:task_id/events', status: 200, client_closed: true })]);
  });
});
