import { FastifyInstance } from 'fastify';

/** A role's admission hook (the API's key check and rate limit), installed by HttpEdge in its place. */
export interface RequestGate {
  install(fastify: FastifyInstance): Promise<void>;
}
export const REQUEST_GATE = Symbol('REQUEST_GATE');
