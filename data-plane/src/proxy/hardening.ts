/**
 * Checks on a parsed request head that node's parser leaves to us (it already refuses smuggling shapes: both
 * Content-Length and Transfer-Encoding, repeated or invalid Content-Length, bad methods and targets).
 */
import type { IncomingMessage } from 'node:http'
import { MESSAGES } from '../http/messages.ts'
import type { ProxyEnv } from './proxy-env.ts'

export interface Rejection {
  status: number
  message: string
}

const TOO_MANY_HEADERS: Rejection = { status: 431, message: MESSAGES.headersTooLarge }
const TOO_LARGE: Rejection = { status: 413, message: MESSAGES.payloadTooLarge }
const BAD_REQUEST: Rejection = { status: 400, message: MESSAGES.badRequest }
const NOT_IMPLEMENTED: Rejection = { status: 501, message: MESSAGES.notImplemented }

function countHeaders(raw: readonly string[]): number {
  let n = 0
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.charCodeAt(0) !== 0x3a) n++ // HTTP/2 pseudo-headers aside
  return n
}

/** Why the request must be refused before routing, or null. */
export function rejectRequest(req: IncomingMessage, env: ProxyEnv): Rejection | null {
  const raw = req.rawHeaders
  if (raw.length > env.maxHeaders * 2 && countHeaders(raw) > env.maxHeaders) return TOO_MANY_HEADERS
  if (req.httpVersionMajor === 1) {
    // RFC 9112 §3.2: more than one Host is a 400 (node silently keeps the first).
    let hosts = 0
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!
      if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) return BAD_REQUEST
    }
    // Only `chunked` is decoded; relaying another transfer coding would hand the upstream bytes it cannot read.
    const te = req.headers['transfer-encoding']
    if (te !== undefined && te.trim().toLowerCase() !== 'chunked') return NOT_IMPLEMENTED
  }
  if (env.maxBodySize > 0) {
    const length = req.headers['content-length']
    if (length !== undefined && Number(length) > env.maxBodySize) return TOO_LARGE
  }
  return null
}
