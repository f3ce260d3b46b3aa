import { Module } from '@nestjs/common';
import { TasksModule } from '../tasks/tasks.module';
import { TaskWatch } from './task-watch.service';

/** Live task state for the API's event streams and long polls (see TaskWatch). */
@Module({
  imports: [TasksModule],
  providers: [TaskWatch],
  exports: [TaskWatch],
})
export class TaskWatchModule {}
