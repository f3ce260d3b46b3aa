import { Module } from '@nestjs/common';
import { makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { METRIC } from '../metrics/metric-names';
import { TasksModule } from '../tasks/tasks.module';
import { CallbackDispatcher } from './callback-dispatcher';

/** Completion webhooks: the dispatcher runs in worker pods (see CallbackDispatcher). */
@Module({
  imports: [TasksModule],
  providers: [
    CallbackDispatcher,
    makeCounterProvider({ name: METRIC.callbackFailures, help: 'Webhook delivery attempts that failed', labelNames: ['reason'] }),
    makeCounterProvider({ name: METRIC.callbackDeliveries, help: 'Webhook deliveries settled: delivered, or failed for good', labelNames: ['outcome'] }),
  ],
  exports: [CallbackDispatcher],
})
export class CallbacksModule {}
