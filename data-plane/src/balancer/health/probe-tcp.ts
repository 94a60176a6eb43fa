/** TCP probe: the member accepts a connection. */
import { connect } from 'node:net'
import { type ProbeResult, type ProbeTarget, settleOnce } from './probe.ts'

export function probeTcp(target: ProbeTarget, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  return settleOnce(timeoutMs, signal, (finish) => {
    const socket = connect({ host: target.address, port: target.port })
    socket.once('connect', () => finish({ kind: 'connected' }))
    socket.on('error', (err) => finish({ kind: 'tcp_failure', error: err.message }))
    return () => socket.destroy()
  })
}
