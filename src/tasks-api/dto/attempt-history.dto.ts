import { ApiProperty } from '@nestjs/swagger';
import { TaskStatus } from '../../tasks/task-status';

class AttemptErrorDto {
  @ApiProperty({ example: 'TimeLimitExceeded' }) type: string;
  @ApiProperty() message: string;
}

/** One earlier attempt series of a retried task: how it ended, as GET showed it before the retry. */
export class AttemptSeriesDto {
  @ApiProperty({ enum: [TaskStatus.Failed, TaskStatus.Cancelled] }) status: TaskStatus;
  @ApiProperty({ type: AttemptErrorDto, nullable: true }) error: AttemptErrorDto | null;
  @ApiProperty({ description: 'Runs in that series' }) attempts: number;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: "When the series' last run started; null if it never ran" })
  started_at: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finished_at: string | null;
  @ApiProperty({ format: 'date-time' }) retried_at: string;
  @ApiProperty({ nullable: true, type: String, description: 'The label of the key that retried it' }) retried_by: string | null;
}
