import { luaCode } from '../entities/typedefs.ts'
import { ANY_PROTOCOL, flag } from './common-fields.ts'
import { definePlugin } from './define.ts'

/** file-log's validated config. */
export interface FileLogConfig {
  path: string
  reopen: boolean
  custom_fields_by_lua: Record<string, string> | null
}

/** file-log: appends each request's log entry as a JSON line to a file. */
export const fileLog = definePlugin({
  name: 'file-log',
  priority: 9,
  phases: ['log'],
  protocols: ANY_PROTOCOL,
  config: {
    path: { type: 'string', required: true, match: '^[^*&%\\\\`]+$', match_message: 'not a valid filename' },
    // Reopen the file for every entry (for external log rotation).
    reopen: flag(false),
    custom_fields_by_lua: luaCode,
  },
})
