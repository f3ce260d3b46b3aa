import { Module } from '@nestjs/common';
import { TasksModule } from '../tasks/tasks.module';
import { ApiKeyGuard } from '../common/api-key.guard';
import { TasksController } from './tasks.controller';

/** The HTTP edge of the task domain: translate and delegate. */
@Module({
  imports: [TasksModule],
  controllers: [TasksController],
  providers: [ApiKeyGuard],
})
export class TasksApiModule {}
