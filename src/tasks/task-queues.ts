import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { QueueName } from './task-names';

/** The BullMQ queues by name; one per QueueName, registered by TasksModule. */
@Injectable()
export class TaskQueues {
  private readonly byName: Map<string, Queue>;

  constructor(@InjectQueue(QueueName.CpuIntensive) cpuIntensive: Queue) {
    this.byName = new Map([[QueueName.CpuIntensive, cpuIntensive]]);
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
