import { Module } from '@nestjs/common';
import { TasksModule } from '../tasks.module';
import { BulkCancellation } from './bulk-cancel.service';
import { OperatorLedger } from './operator-ledger';
import { QueuePauses } from './queue-pauses.service';
import { TaskRetry } from './task-retry.service';

/**
 * The operator controls: retry a finished task, cancel in bulk, pause and resume a queue. Each is
 * one script per task or queue, composed with BullMQ's own where BullMQ has one. The API uses
 * them; the health evaluation reads the queues' pause state.
 */
@Module({
  imports: [TasksModule],
  providers: [OperatorLedger, TaskRetry, BulkCancellation, QueuePauses],
  exports: [TaskRetry, BulkCancellation, QueuePauses],
})
export class OperatorModule {}
