import { randomUUID } from 'node:crypto';
import { TEST_API_KEY } from '../support/app';
import { Stack } from '../support/stack';

jest.setTimeout(60_000);

const DEV_KEY = 'second-key-abcdefghijkl';

describe('operator controls: who may', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await Stack.start({ API_KEYS: `admin:${TEST_API_KEY},dev:${DEV_KEY}`, API_ADMIN_LABELS: 'admin' }, { worker: false });
  });
  afterAll(() => s.stop());

  const routes = [
    ['pause', '/api/v1/queues/cpu_intensive/pause', {}],
    ['resume', '/api/v1/queues/cpu_intensive/resume', {}],
    ['bulk cancel', '/api/v1/tasks/cancel', { task_ids: [randomUUID()] }],
  ] as const;

  it.each(routes)('%s: 403 with detail for a key whose label is not in API_ADMIN_LABELS, 200 for one that is', async (_name, path, body) => {
    const refused = await s.http().post(path).set('X-API-Key', DEV_KEY).send(body).expect(403);
    expect(refused.body).toEqual({ detail: 'This operation needs an API key whose label is in API_ADMIN_LABELS' });
    await s.http().post(path).set('X-API-Key', TEST_API_KEY).send(body).expect(200);
    await s.http().post(path).send(body).expect(401);
  });

  it('refuses a non-admin key before it looks at the body', async () => {
    await s.http().post('/api/v1/tasks/cancel').set('X-API-Key', DEV_KEY).send({}).expect(403);
    await s.http().post('/api/v1/tasks/cancel').set('X-API-Key', TEST_API_KEY).send({}).expect(422);
  });

  it('lets any key retry a single task, as any key may cancel one', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 600 });
    await s.http().delete(`/api/v1/tasks/${id}`).set('X-API-Key', DEV_KEY).expect(200);
    const res = await s.http().post(`/api/v1/tasks/${id}/retry`).set('X-API-Key', DEV_KEY).expect(200);
    expect(res.body.attempt_history[0].retried_by).toBe('dev');
  });

  it('documents the four controls in OpenAPI with their operationIds and the API key scheme', async () => {
    const doc = (await s.http().get('/docs-json').expect(200)).body as { paths: Record<string, Record<string, { operationId: string; security: unknown[]; responses: Record<string, unknown> }>> };
    const ops = {
      retryTask: doc.paths['/api/v1/tasks/{task_id}/retry']?.post,
      cancelTasks: doc.paths['/api/v1/tasks/cancel']?.post,
      pauseQueue: doc.paths['/api/v1/queues/{queue}/pause']?.post,
      resumeQueue: doc.paths['/api/v1/queues/{queue}/resume']?.post,
    };
    for (const [id, op] of Object.entries(ops)) {
      expect([id, op?.operationId]).toEqual([id, id]);
      expect([id, op?.security]).toEqual([id, [{ 'api-key': [] }]]);
    }
    expect(Object.keys(ops.retryTask!.responses)).toEqual(expect.arrayContaining(['200', '404', '409']));
    for (const op of [ops.cancelTasks, ops.pauseQueue, ops.resumeQueue]) expect(Object.keys(op!.responses)).toContain('403');
    expect(Object.keys(ops.cancelTasks!.responses)).toContain('422');
  });
});
