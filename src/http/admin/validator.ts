/**
 * The admin API's schema validator: TypeBox's compiled checks. Unlike fastify's default Ajv set-up
 * (`removeAdditional: true`, `coerceTypes: 'array'`), it never strips unknown members and never
 * coerces a body: an unexpected field or type is a 400, so nothing is silently stored
 * (SECURITY-CASES AD-03). Only the querystring and path parameters, which are text by nature, are
 * converted to the schema's types.
 */
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { FastifySchemaCompiler } from 'fastify';
import { nulCharacterPath } from '../../domain/audit-field.js';
import { ProblemError } from '../problem.js';

/** Enough to fix a request; a hostile body cannot make the answer large. */
const MAX_REPORTED_ERRORS = 10;

export const typeBoxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  const convert = httpPart === 'querystring' || httpPart === 'params';
  return (input: unknown) => {
    // PostgreSQL stores no NUL, in text or jsonb: refused here rather than failing the write (500).
    const nulPath = nulCharacterPath(input);
    if (nulPath !== null) {
      return {
        error: new ProblemError(
          400,
          'validation_failed',
          `the ${httpPart ?? 'request'} holds a NUL character`,
          [{ path: nulPath, message: 'must not contain a NUL character' }],
        ),
      };
    }
    const value = convert ? Value.Convert(schema, input) : input;
    if (check.Check(value)) return { value };
    const errors = [...check.Errors(value)]
      .slice(0, MAX_REPORTED_ERRORS)
      .map((error) => ({ path: error.path || '/', message: error.message }));
    return {
      error: new ProblemError(
        400,
        'validation_failed',
        `the ${httpPart ?? 'request'} does not match the schema`,
        errors,
      ),
    };
  };
};
