/**
 * Where one service's requests go: its own host, or — when the host names an upstream — the members its balancer
 * picks. Connections are per peer and shared through the node's pools; a member's connection is taken on its
 * first request and kept while this backend lives (members come and go with DNS answers, within one config).
 */
import type { Pool } from 'undici'
import type { Balancer, Member } from '../balancer/types.ts'
import type { UpstreamRow } from '../runtime/entity-rows.ts'
import type { H2Origin } from './h2-origin.ts'
import { hostHeaderFor, type Peer, peerFor, type ServiceSettings } from './peer.ts'
import type { PeerPools } from './peer-pools.ts'

/** A peer with its pool: what one try is sent through. */
export interface Connection {
  readonly peer: Peer
  readonly pool: Pool
  /** gRPC services: the HTTP/2 session holder calls go through. */
  readonly h2: H2Origin | null
}

/** The upstream a service balances over. */
export interface BalancedUpstream {
  readonly row: UpstreamRow
  readonly balancer: Balancer
}

/** Members whose connection was taken beyond this many (DNS churn) let the oldest go. */
const MAX_IDLE_MEMBERS = 64

export class ServiceBackend {
  readonly settings: ServiceSettings
  /** Null for a service pointed at one host. */
  readonly upstream: BalancedUpstream | null
  readonly #pools: PeerPools
  readonly #fixed: Connection | null
  readonly #members = new Map<string, Connection>()
  /** Configs holding this backend; the last to let go releases the pools. */
  #holders = 1

  constructor(settings: ServiceSettings, pools: PeerPools, to: { host: string; port: number } | BalancedUpstream) {
    this.settings = settings
    this.#pools = pools
    if ('balancer' in to) {
      this.upstream = to
      this.#fixed = null
    } else {
      this.upstream = null
      this.#fixed = this.#connect(peerFor(settings, to.host, to.port))
    }
  }

  #connect(peer: Peer): Connection {
    const { pool, h2 } = this.#pools.acquire(peer)
    return { peer, pool, h2 }
  }

  /** The service's own connection; null when it balances over an upstream. */
  get fixed(): Connection | null {
    return this.#fixed
  }

  /** The connection to a member picked by the balancer. */
  connectionFor(member: Member): Connection {
    let c = this.#members.get(member.key)
    if (c !== undefined && c.peer.port === member.port) return c
    const row = this.upstream!.row
    // Kong's Host for a balanced service: host_header, else the SRV name (use_srv_name), else the target's host.
    const host =
      row.host_header ??
      hostHeaderFor(
        this.settings.protocol,
        (row.use_srv_name && member.srvName) || targetHost(member.target),
        member.port,
      )
    c = this.#connect(peerFor(this.settings, member.address, member.port, host))
    if (this.#members.size >= MAX_IDLE_MEMBERS) {
      const [oldest] = this.#members
      if (oldest) {
        this.#members.delete(oldest[0])
        this.#pools.release(oldest[1].peer.poolKey)
      }
    }
    this.#members.set(member.key, c)
    return c
  }

  /** Another config shares this backend (an unchanged service). */
  retain(): void {
    this.#holders++
  }

  release(): void {
    if (--this.#holders > 0) return
    if (this.#fixed) this.#pools.release(this.#fixed.peer.poolKey)
    for (const c of this.#members.values()) this.#pools.release(c.peer.poolKey)
    this.#members.clear()
  }
}

/** The host part of a stored target (`host:port`, `[v6]:port`). */
function targetHost(target: string): string {
  if (target.startsWith('[')) return target.slice(0, target.indexOf(']') + 1)
  const colon = target.lastIndexOf(':')
  return colon === -1 ? target : target.slice(0, colon)
}
