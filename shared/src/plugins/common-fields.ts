/** Config fields and protocol sets several plugins share (Kong's typedefs for plugins). */
import { protocols as allProtocols } from '../entities/fields.ts'
import { httpProtocols, msTimeout, sni } from '../entities/typedefs.ts'
import type { FieldDef } from '../schema/types.ts'
import type { PluginProtocols } from './types.ts'

/** Kong's `typedefs.protocols_http`. */
export const HTTP_ONLY: PluginProtocols = { allowed: httpProtocols, default: httpProtocols }
/** Kong's `typedefs.protocols`: any protocol, HTTP ones by default. */
export const ANY_PROTOCOL: PluginProtocols = { allowed: allProtocols, default: httpProtocols }

/** A required boolean with a default, the most common plugin flag. */
export const flag = (d: boolean): FieldDef => ({ type: 'boolean', required: true, default: d })

export const strings: FieldDef = { type: 'array', elements: { type: 'string' } }

/** The Redis record's validated shape. */
export interface RedisConfig {
  host: string | null
  port: number
  timeout: number
  username: string | null
  password: string | null
  database: number
  ssl: boolean
  ssl_verify: boolean
  server_name: string | null
}

/** Kong's shared Redis connection record (`kong/tools/redis/schema.lua`). */
export const redisField: FieldDef = {
  type: 'record',
  fields: {
    host: { type: 'string' },
    port: { type: 'integer', default: 6379, between: [0, 65535] },
    timeout: { ...msTimeout, default: 2000 },
    username: { type: 'string' },
    password: { type: 'string', len_min: 0 },
    database: { type: 'integer', default: 0 },
    ssl: { type: 'boolean', default: false },
    ssl_verify: { type: 'boolean', default: false },
    server_name: sni,
  },
}

/** The log queue record's validated shape (delays and retry times in seconds). */
export interface LogQueueConfig {
  max_batch_size: number
  max_coalescing_delay: number
  max_entries: number
  max_bytes: number | null
  max_retry_time: number
  initial_retry_delay: number
  max_retry_delay: number
  concurrency_limit: number
}

/** Kong's log queue settings (`kong/tools/queue_schema.lua`). */
export const queueField: FieldDef = {
  type: 'record',
  fields: {
    max_batch_size: { type: 'integer', default: 1, between: [1, 1_000_000] },
    max_coalescing_delay: { type: 'number', default: 1, between: [0, 3600] },
    max_entries: { type: 'integer', default: 10000, between: [1, 1_000_000] },
    max_bytes: { type: 'integer' },
    max_retry_time: { type: 'number', default: 60 },
    initial_retry_delay: { type: 'number', default: 0.01, between: [0.001, 1_000_000] },
    max_retry_delay: { type: 'number', default: 60, between: [0.001, 1_000_000] },
    concurrency_limit: { type: 'integer', default: 1, one_of: [-1, 1] },
  },
}
