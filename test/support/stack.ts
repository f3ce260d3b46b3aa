import { INestApplication } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { AppConfig } from '../../src/config/configuration';
import { TEST_API_KEY, startApi, startWorker, testConfig } from './app';
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

  static async start(env: Record<string, string>, opts: { worker?: boolean } = {}, redis?: TestRedis): Promise<Stack> {
    const s = new Stack();
    s.redis = redis ?? (await startTestRedis());
    s.config = testConfig(s.redis, env);
    s.api = await startApi(s.config);
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
    const res = await this.http().post('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).send({ task_name: taskName, payload, options });
    if (res.status !== 201) throw new Error(`submit ${taskName} answered ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.task_id as string;
  }

  async get(id: string): Promise<TaskView> {
    const res = await this.http().get(`/api/v1/tasks/${id}`).set('X-API-Key', TEST_API_KEY);
    if (res.status !== 200) throw new Error(`get ${id} answered ${res.status}`);
    return res.body as TaskView;
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
