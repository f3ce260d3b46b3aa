import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { withDeadline } from '../common/deadline.util';
import { InjectQueue } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { QueueName } from './task-names';

/** The BullMQ queues by name; one per QueueName, registered by TasksModule. */
@Injectable()
export class TaskQueues implements OnModuleInit {
  private readonly logger = new Logger(TaskQueues.name);
  private readonly byName: Map<string, Queue>;

  constructor(@InjectQueue(QueueName.CpuIntensive) cpuIntensive: Queue) {
    this.byName = new Map([[QueueName.CpuIntensive, cpuIntensive]]);
  }

  /** Producers fail fast while disconnected, so wait for the first connection (but not forever). */
  async onModuleInit(): Promise<void> {
    // Without a listener BullMQ prints every reconnect failure with its stack; one line will do.
    for (const q of this.all()) q.on('error', (err: Error) => this.logger.warn(`Queue connection error queue=${q.name} error=${err.message}`));
    await Promise.all(
      this.all().map((q) => withDeadline(q.waitUntilReady(), 3000, () => new Error('timeout')).catch(() => undefined)),
    );
  }

  get(name: string): Queue {
    const q = this.byName.get(name);
    if (!q) throw new Error(`Queue ${name} is not registered`);
    return q;
  }

  all(): Queue[] {
    return [...this.byName.values()];
  }
}
