import { headerName } from '../entities/typedefs.ts'
import { flag, HTTP_ONLY } from './common-fields.ts'
import { definePlugin } from './define.ts'

const present = (v: unknown): boolean => typeof v === 'string' && v.length > 0

/** request-termination's validated config. */
export interface RequestTerminationConfig {
  status_code: number
  message: string | null
  content_type: string | null
  body: string | null
  echo: boolean
  trigger: string | null
}

/** request-termination: answers every request with a fixed status and body (or echoes it), without proxying. */
export const requestTermination = definePlugin({
  name: 'request-termination',
  priority: 2,
  phases: ['access'],
  protocols: HTTP_ONLY,
  config: {
    status_code: { type: 'integer', required: true, default: 503, between: [100, 599] },
    message: { type: 'string' },
    content_type: { type: 'string' },
    body: { type: 'string' },
    echo: flag(false),
    // Only terminate requests carrying this header or query argument.
    trigger: headerName,
  },
  config_check: (c) => {
    if (present(c.message) && (present(c.content_type) || present(c.body)))
      return 'message cannot be used with content_type or body'
    if (present(c.content_type) && !present(c.body)) return 'content_type requires a body'
    if (c.echo && (present(c.content_type) || present(c.body))) return 'echo cannot be used with content_type and body'
    return undefined
  },
})
