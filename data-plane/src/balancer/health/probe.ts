/**
 * One active health probe of one member, on its own socket (never the proxy's pools): what it found; network
 * trouble is an answer, not a throw. The kinds map to Kong's counters in the active checker.
 */
import type { HealthchecksConfig } from '../../runtime/entity-rows.ts'
import { probeGrpc } from './probe-grpc.ts'
import { probeHttp } from './probe-http.ts'
import { probeTcp } from './probe-tcp.ts'

export type ActiveConfig = HealthchecksConfig['active']

export type ProbeResult =
  /** http/https: the response status. */
  | { readonly kind: 'status'; readonly status: number }
  /** tcp: the connection opened. */
  | { readonly kind: 'connected' }
  /** grpc/grpcs: what grpc.health.v1.Health/Check said. */
  | { readonly kind: 'grpc'; readonly serving: boolean; readonly detail: string }
  | { readonly kind: 'tcp_failure'; readonly error: string }
  | { readonly kind: 'timeout' }

export interface ProbeTarget {
  /** The IP to connect to. */
  readonly address: string
  readonly port: number
  /** Host header (HTTP) or :authority (gRPC). */
  readonly host: string
  /** TLS server name; undefined sends none (IP targets without `https_sni`). */
  readonly servername: string | undefined
}

/** Probes `target` as `config.type` says, giving up after `config.timeout` seconds or when `signal` aborts. */
export function probe(target: ProbeTarget, config: ActiveConfig, signal: AbortSignal): Promise<ProbeResult> {
  const timeoutMs = Math.max(1, config.timeout * 1000)
  switch (config.type) {
    case 'tcp':
      return probeTcp(target, timeoutMs, signal)
    case 'grpc':
    case 'grpcs':
      return probeGrpc(target, config, config.type === 'grpcs', timeoutMs, signal)
    default:
      return probeHttp(target, config, config.type === 'https', timeoutMs, signal)
  }
}

/**
 * Settles a probe once: the first outcome wins, the timer and abort listener go, `cleanup` closes the socket.
 * `start` wires the socket and reports through `finish`; if it throws, the promise rejects with that error.
 */
export function settleOnce(
  timeoutMs: number,
  signal: AbortSignal,
  start: (finish: (r: ProbeResult) => void) => () => void,
): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    let settled = false
    let cleanup: (() => void) | undefined
    const finish = (r: ProbeResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      cleanup?.()
      resolve(r)
    }
    const onAbort = () => finish({ kind: 'tcp_failure', error: 'probe cancelled' })
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs)
    timer.unref()
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort)
    try {
      const c = start(finish)
      if (settled) c()
      else cleanup = c
    } catch (err) {
      // Not a network answer but a bug or a bad setting (a header node refuses): the checker logs it.
      settled = true
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      reject(err)
    }
  })
}
