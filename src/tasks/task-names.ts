export const QueueName = {
  CpuIntensive: 'cpu_intensive',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const TaskName = {
  AutomatedGatherCreation: 'automated_gather_creation',
  DiagnosticSleep: 'diagnostic.sleep',
  DiagnosticCpu: 'diagnostic.cpu',
  DiagnosticMemory: 'diagnostic.memory',
  DiagnosticFail: 'diagnostic.fail',
  DiagnosticCrash: 'diagnostic.crash',
} as const;
export type TaskName = (typeof TaskName)[keyof typeof TaskName];
