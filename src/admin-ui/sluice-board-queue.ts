import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueKeys, TASK_FIELDS } from '../tasks/lifecycle/task-keys';
import { TaskMarks, boardJobName } from './board-job-name';

/** Where a job carries its marks on the way to the name formatter: Bull Board hands it `job.toJSON()`, a copy of the Job's own fields. */
const MARKS = 'sluiceMarks';
/**
 * The highest list index asked of BullMQ. Its getRanges script passes indexes through Lua numbers,
 * which print in %.14g: from 1e14 on, LRANGE gets `4.5035996273705e+17` and refuses it. A page that
 * far out (`page=9007199254740993`) is past any queue's jobs, so it is simply empty.
 */
const MAX_INDEX = 2 ** 40;
type MarkedJob = Job & { [MARKS]?: TaskMarks };

/**
 * One Sluice queue on the board: BullMQ's adapter, read-only, listed under Sluice's queue name
 * (`cpu_intensive`, not the hash-tagged `{cpu_intensive}`), with each job's name tagged from the
 * task's own status in its job hash (see boardJobName). BullMQ's Job does not read Sluice's
 * fields, so the jobs of each page the board asks for get them with one pipelined HMGET per job,
 * on the API's shared connection: a page costs a round trip more, whatever the backlog.
 *
 * The board shows a job's stack trace in place of its failedReason when there is one. BullMQ's is
 * the stack of the worker's RunFailure (Sluice's own transition code, the same for every task),
 * never the handler's, so it is left out of the board's copy: the Error tab then shows
 * failedReason, `Type: message`, which is the error the API reports.
 */
export class SluiceBoardQueue extends BullMQAdapter {
  constructor(
    queue: Queue,
    private readonly sluiceQueue: string,
    private readonly taskKeys: QueueKeys,
    private readonly redis: Redis,
  ) {
    // Buttons on: the installer routes each action through Sluice (AdminUiActions) and shows a
    // non-admin key the queues as read-only. No retry of a completed job: Sluice retries only failed
    // and cancelled tasks.
    super(queue, { readOnlyMode: false, allowRetries: true, displayName: sluiceQueue, description: `Sluice queue ${sluiceQueue}` });
    this.setFormatter('name', (job: { name?: string; [MARKS]?: TaskMarks }) => boardJobName(job.name ?? '', job[MARKS]));
  }

  /** The board's key for the queue, in its URLs too (`/admin/queues/queue/cpu_intensive`). */
  override getName(): string {
    return this.sluiceQueue;
  }

  override async getJob(id: string): Promise<Job | undefined> {
    const job = await super.getJob(id);
    if (job) await this.mark([job]);
    return job;
  }

  override async getJobs(statuses: Parameters<BullMQAdapter['getJobs']>[0], start?: number, end?: number): Promise<Job[]> {
    if (start !== undefined && start > MAX_INDEX) return [];
    const jobs = await super.getJobs(statuses, start, end === undefined ? end : Math.min(end, MAX_INDEX));
    await this.mark(jobs);
    return jobs;
  }

  private async mark(jobs: MarkedJob[]): Promise<void> {
    const named = jobs.filter((j) => j.id !== undefined);
    if (named.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const job of named) pipe.hmget(this.taskKeys.job(job.id!), TASK_FIELDS.status, TASK_FIELDS.cancelRequestedAt);
    const replies = (await pipe.exec()) ?? [];
    named.forEach((job, i) => {
      const [err, fields] = replies[i] ?? [new Error('no reply')];
      if (err) throw err;
      const [status, cancelRequestedAt] = fields as (string | null)[];
      job[MARKS] = { status, cancelRequested: cancelRequestedAt !== null && cancelRequestedAt !== '' };
      if (status !== null) job.stacktrace = [];
    });
  }
}
