import { BadRequestException, ForbiddenException, MethodNotAllowedException } from '@nestjs/common';

/** A board route that Sluice does not act on (only retry, cancel, pause and resume act). */
export class AdminUiReadOnlyError extends MethodNotAllowedException {
  constructor(method: string) {
    super(`Method ${method} not allowed here: the job inspection UI only retries, cancels, pauses and resumes, through Sluice's own API paths`);
  }
}

/** A key whose label is not in API_ADMIN_LABELS pressed a button. */
export class AdminUiForbiddenError extends ForbiddenException {
  constructor() {
    super("The job inspection UI's actions need an API key whose label is in API_ADMIN_LABELS");
  }
}

/** A query value the board decodes once more than Fastify has, and which is not valid percent-encoding then (`activeQueue=%25`). */
export class AdminUiMalformedUrlError extends BadRequestException {
  constructor() {
    super('A value in the URL is not valid percent-encoding once decoded');
  }
}
