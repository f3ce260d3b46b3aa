import { Module } from '@nestjs/common';
import { RedisDurability } from './redis-durability.service';

/**
 * Redis durability checks, in every process: the API's health evaluation reports them, and a
 * worker logs them (and records a data loss it notices first).
 */
@Module({
  providers: [RedisDurability],
  exports: [RedisDurability],
})
export class DurabilityModule {}
