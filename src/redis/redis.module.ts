import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { REDIS_CONFIG } from '../config/config.module';
import { RedisConfig } from '../config/configuration';
import { FAIL_FAST_OPTIONS, createRedis } from './redis.factory';
import { RedisKeys } from './redis-keys';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}
  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}

/** One fail-fast command connection per process, and the key layout, shared by every feature. */
@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [REDIS_CONFIG],
      useFactory: (cfg: RedisConfig) => {
        const client = createRedis(cfg.url, FAIL_FAST_OPTIONS, 'sluice:commands');
        // Errors surface on each command; without a listener ioredis would log every reconnect attempt.
        client.on('error', () => undefined);
        return client;
      },
    },
    { provide: RedisKeys, inject: [REDIS_CONFIG], useFactory: (cfg: RedisConfig) => new RedisKeys(cfg.prefix) },
    RedisCloser,
  ],
  exports: [REDIS_CLIENT, RedisKeys],
})
export class RedisModule {}
