import { flag, HTTP_ONLY } from './common-fields.ts'
import { definePlugin } from './define.ts'

/** correlation-id's validated config. */
export interface CorrelationIdConfig {
  header_name: string
  generator: 'uuid' | 'uuid#counter' | 'tracker'
  echo_downstream: boolean
}

/** correlation-id: adds a request id header upstream (and optionally echoes it downstream). */
export const correlationId = definePlugin({
  name: 'correlation-id',
  priority: 100001,
  phases: ['access', 'response'],
  protocols: HTTP_ONLY,
  config: {
    header_name: { type: 'string', default: 'Kong-Request-ID' },
    generator: { type: 'string', default: 'uuid#counter', one_of: ['uuid', 'uuid#counter', 'tracker'] },
    echo_downstream: flag(false),
  },
})
