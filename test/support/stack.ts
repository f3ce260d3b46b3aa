import { INestApplication } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { SluiceClient, createSluiceClient, unwrap } from '../../src/client/client';
import { AppConfig } from '../../src/config/configuration';
import { TEST_API_KEY, startApi, startWorker, testConfig } from './app';
import { listenLocal } from './raw-http';
import { TestRedis, startTestRedis } from './redis';
import { waitFor } from './wait';

export interface TaskView {
  task_id: string;
  status: string;
  attempts: number;
  result: Record<string, unknown> | null;
  error: { type: string; message: string } | null;
  next_retry_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_seconds: number | null;
  progress: number;
  cancelled_at: string | null;
  max_retries: number;
  time_limit: number | null;
  soft_time_limit: number | null;
}

/** An API and a worker on one suite's own Redis, with the env a test asks for. */
export class Stack {
  redis!: TestRedis;
  config!: AppConfig;
  api!: NestFastifyApplication;
  worker?: NestFastifyApplication;
  /** The typed client (src/client) on the API's port. */
  client!: SluiceClient;

  static async start(env: Record<string, string>, opts: { worker?: boolean } = {}, redis?: TestRedis): Promise<Stack> {
    const s = new Stack();
    s.redis = redis ?? (await startTestRedis());
    s.config = testConfig(s.redis, env);
    s.api = await startApi(s.config);
    // On a port of its own, so that submit, get and cancel go through the typed client, as a user's would.
    s.client = createSluiceClient({ baseUrl: `http://127.0.0.1:${await listenLocal(s.api)}`, apiKey: TEST_API_KEY });
    if (opts.worker !== false) s.worker = await startWorker(s.config);
    return s;
  }

  async startWorker(env: Record<string, string> = {}): Promise<NestFastifyApplication> {
    this.worker = await startWorker(testConfig(this.redis, env));
    return this.worker;
  }


  http() {
    return request(this.api.getHttpServer());
  }

  async submit(taskName: string, payload: object, options?: object): Promise<string> {
    // Any task type (the document's types name the production ones; tests also use diagnostics).
    const body = { task_name: taskName, payload, ...(options ? { options } : {}) } as never;
    const { data, error, response } = await this.client.POST('/api/v1/tasks', { body });
    if (response.status !== 201) throw new Error(`submit ${taskName} answered ${response.status} ${JSON.stringify(error)}`);
    return data!.task_id;
  }

  async get(id: string): Promise<TaskView> {
    return unwrap<TaskView>(this.client.GET('/api/v1/tasks/{task_id}', { params: { path: { task_id: id }, query: {} } }));
  }

  cancel(id: string) {
    return this.http().delete(`/api/v1/tasks/${id}`).set('X-API-Key', TEST_API_KEY);
  }

  /** Waits until the task satisfies `pred` (default: reaches `status`). */
  async until(id: string, status: string, timeoutMs = 15_000, pred?: (t: TaskView) => boolean): Promise<TaskView> {
    return waitFor(`task ${id} to be ${status}`, async () => {
      const t = await this.get(id);
      return (pred ? pred(t) : t.status === status) ? t : undefined;
    }, timeoutMs);
  }

  async stop(): Promise<void> {
    const apps: INestApplication[] = [this.api, ...(this.worker ? [this.worker] : [])];
    await Promise.allSettled(apps.map((a) => a.close()));
    await this.redis.stop();
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
