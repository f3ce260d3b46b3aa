import { TaskStatus } from '../tasks/task-status';

/** What Sluice keeps in a job hash that BullMQ's Job does not read: the task's status and a pending cancel. */
export interface TaskMarks {
  status: string | null;
  cancelRequested: boolean;
}

/**
 * The tag a job's name carries on the board. Bull Board's tabs are BullMQ's states, and three of
 * Sluice's statuses hide in them: a cancelled task sits in Failed (that is where cancel.lua and the
 * worker move it), a task waiting for its retry in Delayed (or Waiting, once due), and a running
 * task being terminated stays Active until its worker has stopped the child. Every other status is
 * what its tab says, so it carries no tag.
 */
export function taskTag(marks: TaskMarks | undefined): string | null {
  switch (marks?.status) {
    case TaskStatus.Cancelled:
      return 'cancelled';
    case TaskStatus.Retrying:
      return 'retrying';
    case TaskStatus.Processing:
      return marks.cancelRequested ? 'cancelling' : null;
    default:
      return null;
  }
}

/** `diagnostic.sleep [cancelled]`: the job's name as the board shows it. */
export function boardJobName(name: string, marks: TaskMarks | undefined): string {
  const tag = taskTag(marks);
  return tag === null ? name : `${name} [${tag}]`;
}
