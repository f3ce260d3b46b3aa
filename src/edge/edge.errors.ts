import { HttpException, HttpStatus, MethodNotAllowedException, NotFoundException, UnauthorizedException, UnprocessableEntityException } from '@nestjs/common';

/** Raised by the JSON body parser, before validation: deeper JSON overflows class-transformer. */
export class JsonTooDeepError extends UnprocessableEntityException {
  constructor(maxDepth: number) {
    super(`JSON nested deeper than ${maxDepth} levels (API_JSON_MAX_DEPTH)`);
  }
}

export class InvalidApiKeyError extends UnauthorizedException {
  constructor() {
    super('Invalid or missing API key');
  }
}

/** The job inspection UI's 401: a browser shows its login dialog (WWW-Authenticate, set by ApiGate). */
export class AdminUiAuthError extends UnauthorizedException {
  constructor() {
    super('Invalid or missing API key: sign in with any user name and an API key as the password');
  }
}

export class RateLimitedError extends HttpException {
  constructor(detail: string) {
    super(detail, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/** A known path called with a method it does not answer; `Allow` lists those it does. */
export class WrongMethodError extends MethodNotAllowedException {
  constructor(method: string, allowed: string[]) {
    super(`Method ${method} not allowed here; allowed: ${allowed.join(', ')}`);
  }
}

/** An endpoint turned off by configuration answers as if it did not exist. */
export class EndpointOffError extends NotFoundException {
  constructor(method: string, path: string) {
    super(`Cannot ${method} ${path}`);
  }
}
