/**
 * Upstream health as a data plane sees it, in the shapes of Kong's `/upstreams/{u}/health` answers. A data plane
 * builds these from its balancers; the control plane shows them per data plane, and sends manual overrides back.
 */
import { formatHost, normalizeIp } from '../entities/addresses.ts'
import { DEFAULT_TARGET_PORT } from '../entities/targets.ts'

/** Kong's per-target verdicts. */
export type TargetHealthState = 'HEALTHY' | 'UNHEALTHY' | 'DNS_ERROR' | 'HEALTHCHECKS_OFF'

/** One address a target resolved to (or the target itself when it is an IP). */
export interface AddressHealth {
  ip: string
  port: number
  health: 'HEALTHY' | 'UNHEALTHY' | 'HEALTHCHECKS_OFF'
  weight: number
}

export interface TargetHealth {
  target_id: string
  /** As stored: `host:port`. */
  target: string
  weight: number
  health: TargetHealthState
  addresses: AddressHealth[]
}

/** One upstream's balancer on one data plane. */
export interface UpstreamHealth {
  upstream_id: string
  upstream_name: string
  /** HEALTHY while the available weight meets `healthchecks.threshold`, HEALTHCHECKS_OFF when nothing is checked. */
  health: 'HEALTHY' | 'UNHEALTHY' | 'HEALTHCHECKS_OFF'
  weight: { total: number; available: number; unavailable: number }
  targets: TargetHealth[]
}

/** A manual override (`PUT /upstreams/{u}/targets/{t}[/{address}]/healthy|unhealthy`). */
export interface HealthOverride {
  upstream_id: string
  /** The target as stored (`host:port`). */
  target: string
  /** One resolved address (`ip:port`); all of the target's addresses when absent. */
  address?: string
  healthy: boolean
}

/** What a data plane offers about its balancers' health. */
export interface LocalHealth {
  /** Every upstream's health on this data plane. */
  report(): UpstreamHealth[]
  /** Applies an override; false when the upstream, target or address is unknown here. */
  override(o: HealthOverride): boolean
  /** Called after health changes (coalesced by the caller), so reports can be pushed. */
  onChange(listener: () => void): void
}

/**
 * An override's address in the form `HealthOverride.address` carries: `ip:port` (IPv6 expanded, in brackets); the
 * port defaults to 8000 as in Kong's `targets:post_health`.
 */
export function normalizeHealthAddress(s: string): { ok: true; address: string } | { ok: false; error: string } {
  const r = normalizeIp(s)
  return r.ok ? { ok: true, address: formatHost(r.address, DEFAULT_TARGET_PORT) } : { ok: false, error: r.error }
}

/** Host (IPv6 without brackets) and port of a stored `host:port` target, as Kong's balancer status shows them. */
export function targetHostPort(target: string): { host: string; port: number } {
  const r = normalizeIp(target)
  return r.ok
    ? { host: r.address.host, port: r.address.port ?? DEFAULT_TARGET_PORT }
    : { host: target, port: DEFAULT_TARGET_PORT }
}
