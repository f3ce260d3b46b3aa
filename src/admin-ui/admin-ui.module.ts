import { Module } from '@nestjs/common';
import { OperatorModule } from '../tasks/operator/operator.module';
import { TasksModule } from '../tasks/tasks.module';
import { AdminUiActions } from './admin-ui.actions';
import { AdminUiInstaller } from './admin-ui.installer';

/**
 * The job inspection UI (Bull Board at /admin/queues), on the API only. Imported only when
 * ADMIN_UI=on; api.bootstrap installs it next to Swagger, before the app is initialised.
 */
@Module({
  imports: [TasksModule, OperatorModule],
  providers: [AdminUiInstaller, AdminUiActions],
  exports: [AdminUiInstaller],
})
export class AdminUiModule {}
