/** The queues task types are defined on; TASK_QUEUE_OVERRIDES may move a type to a queue of its own. */
export const QueueName = {
  CpuIntensive: 'cpu_intensive',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];
