import { TaskName } from '../../tasks/task-names';
import { crashHandler, cpuHandler, failHandler, memoryHandler, sleepHandler } from './diagnostic.handlers';
import { gatherHandler } from './gather.handler';
import type { TaskHandler } from './handler.types';

/**
 * Every task type's handler, loaded by each child process. Keep this import graph free of NestJS
 * and class-validator (payload DTOs are imported as types only): it decides how fast a child forks.
 */
export const TASK_HANDLERS: Record<string, TaskHandler> = {
  [TaskName.AutomatedGatherCreation]: gatherHandler,
  [TaskName.DiagnosticSleep]: sleepHandler,
  [TaskName.DiagnosticCpu]: cpuHandler,
  [TaskName.DiagnosticMemory]: memoryHandler,
  [TaskName.DiagnosticFail]: failHandler,
  [TaskName.DiagnosticCrash]: crashHandler,
} satisfies Record<TaskName, TaskHandler>;
