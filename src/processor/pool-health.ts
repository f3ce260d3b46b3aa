import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { ReadinessCheck } from '../health/redis.health';
import { QueueConsumer } from './queue-consumer';

/** Ready means the child pool is at full size and the BullMQ workers are consuming. */
@Injectable()
export class ChildPoolHealthIndicator implements ReadinessCheck {
  constructor(
    private readonly consumer: QueueConsumer,
    private readonly health: HealthIndicatorService,
  ) {}

  async isReady(): Promise<HealthIndicatorResult> {
    const check = this.health.check('child_pool');
    return this.consumer.up ? check.up() : check.down({ message: 'child pool or queue consumers not running' });
  }
}
