import { Module } from '@nestjs/common';
import { TasksModule } from '../tasks/tasks.module';
import { OperatorModule } from '../tasks/operator/operator.module';
import { QueuesController } from './queues.controller';
import { TaskOperationsController } from './task-operations.controller';
import { TaskWatchModule } from '../task-events/task-watch.module';
import { TaskEventsController } from './task-events.controller';
import { TasksController } from './tasks.controller';

/** The HTTP edge of the task domain: translate and delegate. */
@Module({
  imports: [TasksModule, OperatorModule, TaskWatchModule],
  controllers: [TasksController, TaskOperationsController, QueuesController, TaskEventsController],
})
export class TasksApiModule {}
