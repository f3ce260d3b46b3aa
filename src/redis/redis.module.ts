import { Global, Inject, Injectable, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { REDIS_CONFIG } from '../config/config.module';
import { RedisConfig } from '../config/configuration';
import { FAIL_FAST_OPTIONS, createRedis } from './redis.factory';
import { RedisKeys } from './redis-keys';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** How long start-up waits for Redis; after that the process starts anyway and reports not-ready. */
const CONNECT_WAIT_MS = 3000;

@Injectable()
class RedisLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  /** Commands fail fast while disconnected, so the first requests must not race the first connect. */
  async onModuleInit(): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, CONNECT_WAIT_MS);
      this.redis.once('ready', done);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

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
    RedisLifecycle,
  ],
  exports: [REDIS_CLIENT, RedisKeys],
})
export class RedisModule {}
