import { Module } from '@nestjs/common';
import { TasksModule } from '../tasks/tasks.module';
import { TasksController } from './tasks.controller';

/** The HTTP edge of the task domain: translate and delegate. */
@Module({
  imports: [TasksModule],
  controllers: [TasksController],
})
export class TasksApiModule {}
