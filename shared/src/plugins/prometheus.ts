import type { FieldDef } from '../schema/types.ts'
import { ANY_PROTOCOL } from './common-fields.ts'
import { definePlugin } from './define.ts'

const off: FieldDef = { type: 'boolean', default: false }

/** prometheus's validated config. */
export interface PrometheusConfig {
  per_consumer: boolean
  status_code_metrics: boolean
  latency_metrics: boolean
  bandwidth_metrics: boolean
  upstream_health_metrics: boolean
  ai_metrics: boolean
  wasm_metrics: boolean | null
}

/** prometheus: records request metrics, exposed on the status API's `/metrics`. */
export const prometheus = definePlugin({
  name: 'prometheus',
  priority: 13,
  phases: ['log'],
  protocols: ANY_PROTOCOL,
  config: {
    per_consumer: off,
    status_code_metrics: off,
    latency_metrics: off,
    bandwidth_metrics: off,
    upstream_health_metrics: off,
    // Accepted so newer Kong configs load; Turnpike exports no AI or Wasm metrics.
    ai_metrics: off,
    wasm_metrics: { type: 'boolean' },
  },
})
