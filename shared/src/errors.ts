/** One error class with a stable code per failure kind; codes and names follow Kong's `kong/db/errors.lua`. */

import type { EntityErrors } from './schema/types.ts'
import { flattenErrors } from './schema/validate.ts'

export const ErrorCodes = {
  INVALID_PRIMARY_KEY: { code: 1, name: 'invalid primary key', status: 400 },
  SCHEMA_VIOLATION: { code: 2, name: 'schema violation', status: 400 },
  PRIMARY_KEY_VIOLATION: { code: 3, name: 'primary key violation', status: 400 },
  FOREIGN_KEY_VIOLATION: { code: 4, name: 'foreign key violation', status: 400 },
  UNIQUE_VIOLATION: { code: 5, name: 'unique constraint violation', status: 409 },
  NOT_FOUND: { code: 6, name: 'not found', status: 404 },
  INVALID_OFFSET: { code: 7, name: 'invalid offset', status: 400 },
  DATABASE_ERROR: { code: 8, name: 'database error', status: 500 },
  INVALID_SIZE: { code: 9, name: 'invalid size', status: 400 },
  INVALID_UNIQUE: { code: 10, name: 'invalid unique', status: 400 },
  INVALID_OPTIONS: { code: 11, name: 'invalid options', status: 400 },
  OPERATION_UNSUPPORTED: { code: 12, name: 'operation unsupported', status: 405 },
  FOREIGN_KEYS_UNRESOLVED: { code: 13, name: 'foreign keys unresolved', status: 400 },
  DECLARATIVE_CONFIG: { code: 14, name: 'invalid declarative configuration', status: 400 },
  TRANSFORMATION_ERROR: { code: 15, name: 'transformation error', status: 400 },
  INVALID_FOREIGN_KEY: { code: 16, name: 'invalid foreign key', status: 400 },
  INVALID_WORKSPACE: { code: 17, name: 'invalid workspace', status: 400 },
  INVALID_UNIQUE_GLOBAL: { code: 18, name: 'invalid global query', status: 400 },
  REFERENCED_BY_OTHERS: { code: 19, name: 'referenced by others', status: 400 },
  INVALID_SEARCH_QUERY: { code: 20, name: 'invalid search query', status: 400 },
  SYNC_DEFLATE_ERROR: { code: 21, name: 'sync deflate error', status: 400 },
  // Turnpike's own, outside Kong's range.
  DATABASE_UNAVAILABLE: { code: 100, name: 'database unavailable', status: 503 },
  BAD_REQUEST: { code: 101, name: 'bad request', status: 400 },
  UNAUTHORIZED: { code: 102, name: 'unauthorized', status: 401 },
  UNSUPPORTED_MEDIA_TYPE: { code: 103, name: 'unsupported media type', status: 415 },
  PAYLOAD_TOO_LARGE: { code: 104, name: 'payload too large', status: 413 },
} as const

export type ErrorKind = keyof typeof ErrorCodes

/** An error with a stable code; the Admin API serializes it as Kong's `{code, name, message, fields}`. */
export class TurnpikeError extends Error {
  readonly kind: ErrorKind
  readonly fields?: EntityErrors
  constructor(kind: ErrorKind, message: string, fields?: EntityErrors) {
    super(message)
    this.kind = kind
    this.fields = fields
  }
  get code(): number {
    return ErrorCodes[this.kind].code
  }
  get status(): number {
    return ErrorCodes[this.kind].status
  }
  toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = { code: this.code, name: ErrorCodes[this.kind].name, message: this.message }
    if (this.fields) body.fields = this.fields
    return body
  }

  /** Kong's schema-violation error: "2 schema violations (a: …; b: …)". */
  static schemaViolation(fields: EntityErrors): TurnpikeError {
    const parts = flattenErrors(fields)
    const head = parts.length === 1 ? 'schema violation' : `${parts.length} schema violations`
    return new TurnpikeError('SCHEMA_VIOLATION', `${head} (${parts.join('; ')})`, fields)
  }
}
