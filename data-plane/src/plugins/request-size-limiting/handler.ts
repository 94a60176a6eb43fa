/**
 * request-size-limiting: 413 (417 with `Expect: 100-continue`) for bodies over `allowed_payload_size`. A declared
 * Content-Length is enough to decide; a chunked body is read, up to the limit, and then sent from memory.
 */
import type { RequestSizeLimitingConfig } from '@turnpike/shared'
import { BodyTooLargeError } from '../../pipeline/request-view.ts'
import { defineHandler, type PluginContext, type PluginResponse } from '../../pipeline/types.ts'

export const MESSAGES = {
  tooLarge: 'Request size limit exceeded',
  lengthRequired: 'A valid Content-Length header is required',
} as const

const UNITS = { bytes: 1, kilobytes: 1024, megabytes: 1024 * 1024 } as const

function tooLarge(ctx: PluginContext): PluginResponse {
  const expect = ctx.request.header('expect')
  return ctx.error(expect?.trim().toLowerCase() === '100-continue' ? 417 : 413, MESSAGES.tooLarge)
}

interface Compiled {
  limit: number
  requireContentLength: boolean
}

export const requestSizeLimitingHandler = defineHandler<RequestSizeLimitingConfig, Compiled>({
  compile(conf) {
    return {
      limit: conf.allowed_payload_size * UNITS[conf.size_unit],
      requireContentLength: conf.require_content_length,
    }
  },
  access(ctx, c) {
    const length = ctx.request.contentLength
    if (length !== undefined) return length > c.limit ? tooLarge(ctx) : undefined
    if (c.requireContentLength) return ctx.error(411, MESSAGES.lengthRequired)
    if (!ctx.request.hasBody) return undefined
    return ctx.request.readBody(c.limit).then(
      () => undefined,
      (err) => {
        if (err instanceof BodyTooLargeError) return tooLarge(ctx)
        throw err
      },
    )
  },
})
