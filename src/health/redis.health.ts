import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Redis } from 'ioredis';
import { REDIS_CLIENT } from '../redis/redis.module';

export interface ReadinessCheck {
  isReady(): Promise<HealthIndicatorResult>;
}

@Injectable()
export class RedisHealthIndicator implements ReadinessCheck {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly health: HealthIndicatorService,
  ) {}

  async isReady(): Promise<HealthIndicatorResult> {
    return await this.health
      .check('redis')
      .attempt(async () => {
        if ((await this.redis.ping()) !== 'PONG') throw new Error('unexpected PING reply');
      })
      .withTimeout(2000);
  }
}
