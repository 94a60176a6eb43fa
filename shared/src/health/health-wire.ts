/** Upstream health on the sync stream: the contract's shape to the HealthReport message and back, in one place. */
import { create, type HealthReport, HealthReportSchema } from '@turnpike/proto'
import type { UpstreamHealth } from './upstream-health.ts'

type Target = UpstreamHealth['targets'][number]

/** A data plane's report as the message it sends. */
export function healthReportMessage(upstreams: readonly UpstreamHealth[], configVersion: number): HealthReport {
  return create(HealthReportSchema, {
    configVersion: BigInt(configVersion),
    upstreams: upstreams.map((u) => ({
      upstreamId: u.upstream_id,
      upstreamName: u.upstream_name,
      health: u.health,
      weight: {
        total: BigInt(u.weight.total),
        available: BigInt(u.weight.available),
        unavailable: BigInt(u.weight.unavailable),
      },
      targets: u.targets.map((t) => ({
        targetId: t.target_id,
        target: t.target,
        weight: t.weight,
        health: t.health,
        addresses: t.addresses.map((a) => ({ ip: a.ip, port: a.port, health: a.health, weight: a.weight })),
      })),
    })),
  })
}

/** A received report in the contract's shape; the data plane's verdict strings are relayed as they are. */
export function upstreamsOfReport(report: HealthReport): UpstreamHealth[] {
  return report.upstreams.map((u) => ({
    upstream_id: u.upstreamId,
    upstream_name: u.upstreamName,
    health: u.health as UpstreamHealth['health'],
    weight: {
      total: Number(u.weight?.total ?? 0),
      available: Number(u.weight?.available ?? 0),
      unavailable: Number(u.weight?.unavailable ?? 0),
    },
    targets: u.targets.map((t) => ({
      target_id: t.targetId,
      target: t.target,
      weight: t.weight,
      health: t.health as Target['health'],
      addresses: t.addresses.map((a) => ({
        ip: a.ip,
        port: a.port,
        health: a.health as Target['addresses'][number]['health'],
        weight: a.weight,
      })),
    })),
  }))
}
