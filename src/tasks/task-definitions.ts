import { Type } from '@nestjs/common';
import { DiagnosticCpuDto, DiagnosticCrashDto, DiagnosticFailDto, DiagnosticMemoryDto, DiagnosticSleepDto } from './definitions/diagnostic.dto';
import { GatherPayloadDto } from './definitions/gather.dto';
import { QueueName, TaskName } from './task-names';

/** What a task type is, independent of configuration; the registry adds the policy. */
export interface TaskDefinition {
  name: TaskName;
  queue: QueueName;
  payload: Type<object>;
  description: string;
  diagnostic: boolean;
}

export const TASK_DEFINITIONS: readonly TaskDefinition[] = [
  {
    name: TaskName.AutomatedGatherCreation,
    queue: QueueName.CpuIntensive,
    payload: GatherPayloadDto,
    description: 'Groups participants into gatherings by location, availability and interests',
    diagnostic: false,
  },
  {
    name: TaskName.DiagnosticSleep,
    queue: QueueName.CpuIntensive,
    payload: DiagnosticSleepDto,
    description: 'Sleeps; stops early at the soft limit',
    diagnostic: true,
  },
  {
    name: TaskName.DiagnosticCpu,
    queue: QueueName.CpuIntensive,
    payload: DiagnosticCpuDto,
    description: 'Busy-loops, ignoring signals',
    diagnostic: true,
  },
  {
    name: TaskName.DiagnosticMemory,
    queue: QueueName.CpuIntensive,
    payload: DiagnosticMemoryDto,
    description: 'Allocates real memory',
    diagnostic: true,
  },
  {
    name: TaskName.DiagnosticFail,
    queue: QueueName.CpuIntensive,
    payload: DiagnosticFailDto,
    description: 'Throws an error',
    diagnostic: true,
  },
  {
    name: TaskName.DiagnosticCrash,
    queue: QueueName.CpuIntensive,
    payload: DiagnosticCrashDto,
    description: 'Exits its child process abruptly',
    diagnostic: true,
  },
];
