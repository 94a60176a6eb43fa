import { flag, HTTP_ONLY } from './common-fields.ts'
import { definePlugin } from './define.ts'

export const sizeUnits = ['megabytes', 'kilobytes', 'bytes'] as const

/** request-size-limiting's validated config. */
export interface RequestSizeLimitingConfig {
  allowed_payload_size: number
  size_unit: (typeof sizeUnits)[number]
  require_content_length: boolean
}

/** request-size-limiting: rejects request bodies above a size (413, or 417 with `Expect: 100-continue`). */
export const requestSizeLimiting = definePlugin({
  name: 'request-size-limiting',
  priority: 951,
  phases: ['access'],
  protocols: HTTP_ONLY,
  config: {
    allowed_payload_size: { type: 'integer', default: 128 },
    // Binary units: a kilobyte is 1024 bytes, a megabyte 1048576.
    size_unit: { type: 'string', required: true, default: 'megabytes', one_of: sizeUnits },
    require_content_length: flag(false),
  },
})
