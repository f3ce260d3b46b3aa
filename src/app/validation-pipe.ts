import { ArgumentMetadata, UnprocessableEntityException, ValidationPipe, ValidationPipeOptions } from '@nestjs/common';
import { formatValidationErrors } from '../tasks/validation.util';

/** How bodies and queries are validated: into their classes, unknown properties refused, 422 naming each problem. */
export const VALIDATION_OPTIONS: ValidationPipeOptions = {
  transform: true,
  whitelist: true,
  forbidNonWhitelisted: true,
  errorHttpStatusCode: 422,
  exceptionFactory: (errors) => new UnprocessableEntityException(`Validation failed: ${formatValidationErrors(errors).join('; ')}`),
};

const VALIDATED_IN_ROUTE = Symbol('sluice:validated-in-route');

/**
 * Marks a body class that its route's own pipe validates. The global ValidationPipe would walk the
 * whole body (prototype keys, array gaps) and copy it into class instances, payloads included: at
 * 100k participants that costs several times the parse.
 */
export function ValidatedInRoute(): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(VALIDATED_IN_ROUTE, true, target);
  };
}

/** The global ValidationPipe, which leaves the classes marked ValidatedInRoute to their route. */
export class GlobalValidationPipe extends ValidationPipe {
  protected override toValidate(metadata: ArgumentMetadata): boolean {
    const { metatype } = metadata;
    if (typeof metatype === 'function' && Reflect.getOwnMetadata(VALIDATED_IN_ROUTE, metatype) === true) return false;
    return super.toValidate(metadata);
  }
}
