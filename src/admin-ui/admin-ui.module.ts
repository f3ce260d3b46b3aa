import { Module } from '@nestjs/common';
import { TasksModule } from '../tasks/tasks.module';
import { AdminUiInstaller } from './admin-ui.installer';

/**
 * The job inspection UI (Bull Board at /admin/queues), on the API only. Imported only when
 * ADMIN_UI=on; api.bootstrap installs it next to Swagger, before the app is initialised.
 */
@Module({
  imports: [TasksModule],
  providers: [AdminUiInstaller],
  exports: [AdminUiInstaller],
})
export class AdminUiModule {}
