/**
 * The baseline for `POST /api/v1/tasks`: NestJS 12 on Fastify with one route that only calls
 * BullMQ's `queue.add`, on the same Redis. No validation, no status record, no API-key guard:
 * what any Nest+BullMQ service pays at least. Run as its own process, like Sluice's API.
 *   BARE_PORT, BARE_REDIS_URL, BARE_PREFIX
 */
import 'reflect-metadata';
import { Body, Controller, HttpCode, Inject, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue } from 'bullmq';
import { bullQueueName } from '../../src/tasks/lifecycle/task-keys';
import { QueueName } from '../../src/task-types/queue-names';

const QUEUE = 'BARE_QUEUE';

@Controller('api/v1/tasks')
class BareController {
  constructor(@Inject(QUEUE) private readonly queue: Queue) {}

  @Post()
  @HttpCode(201)
  async submit(@Body() body: { task_name: string; payload: unknown }): Promise<{ task_id: string | undefined }> {
    const job = await this.queue.add(body.task_name, { task_name: body.task_name, payload: body.payload });
    return { task_id: job.id };
  }
}

async function main(): Promise<void> {
  // A plain BullMQ queue on a plain connection: none of Sluice's Lua (that rides only on the
  // connections of src/redis/redis.factory.ts), the same hash-tagged name as Sluice's queue.
  const queue = new Queue(bullQueueName(QueueName.CpuIntensive), {
    prefix: process.env.BARE_PREFIX ?? 'bare',
    connection: { url: process.env.BARE_REDIS_URL, maxRetriesPerRequest: 1, connectionName: 'bare:queue' },
  });
  await queue.waitUntilReady();

  @Module({ controllers: [BareController], providers: [{ provide: QUEUE, useValue: queue }] })
  class BareModule {}

  const app = await NestFactory.create<NestFastifyApplication>(BareModule, new FastifyAdapter({ logger: false }), { logger: ['error'] });
  await app.listen({ port: Number(process.env.BARE_PORT), host: '127.0.0.1' });
  process.stdout.write('BARE_READY\n');
  const stop = (): void => void app.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`bare app failed: ${err.stack}\n`);
  process.exit(1);
});
