/**
 * Per-request facts the proxy's own answers need (the request id, which headers to add), kept on the response
 * object under symbols: every writer of a response reaches them without new parameters or a per-request object.
 */
import type { ServerResponse } from 'node:http'
import type { Http2ServerResponse } from 'node:http2'
import { DEFAULT_SWITCHES, type HeaderSwitches } from './header-switches.ts'

const kRequestId = Symbol('turnpike.requestId')
const kSwitches = Symbol('turnpike.headerSwitches')

type Tagged = { [kRequestId]?: string; [kSwitches]?: HeaderSwitches }
type AnyResponse = ServerResponse | Http2ServerResponse

export function tagResponse(res: AnyResponse, requestId: string, switches: HeaderSwitches): void {
  ;(res as Tagged)[kRequestId] = requestId
  ;(res as Tagged)[kSwitches] = switches
}

export function requestIdOf(res: AnyResponse): string | undefined {
  return (res as Tagged)[kRequestId]
}

export function switchesOf(res: AnyResponse): HeaderSwitches {
  return (res as Tagged)[kSwitches] ?? DEFAULT_SWITCHES
}
