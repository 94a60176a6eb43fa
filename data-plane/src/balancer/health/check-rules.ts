/**
 * One health checker's settings (active or passive) compiled for counting: thresholds, and a status table so a
 * verdict is one array read on the request path.
 */
import type { HealthchecksConfig } from '../../runtime/entity-rows.ts'
import type { TryOutcome } from '../types.ts'

/** What one observation counts as; `undefined` (a status in neither list) counts as nothing. */
export type Verdict = 'success' | 'http_failure' | 'tcp_failure' | 'timeout'

export interface CheckRules {
  /** Thresholds; 0 disables the counter. */
  readonly successes: number
  readonly httpFailures: number
  readonly tcpFailures: number
  readonly timeouts: number
  /** By status code (100–999): 1 healthy, 2 unhealthy, 0 neither. */
  readonly statuses: Uint8Array
  /** Whether any counter is enabled. */
  readonly counting: boolean
}

const HEALTHY = 1
const UNHEALTHY = 2

function compile(
  healthy: { http_statuses: readonly number[]; successes: number },
  unhealthy: { http_statuses: readonly number[]; tcp_failures: number; timeouts: number; http_failures: number },
): CheckRules {
  const statuses = new Uint8Array(1000)
  for (const s of unhealthy.http_statuses) if (s >= 0 && s < 1000) statuses[s] = UNHEALTHY
  // A status in both lists is a success, as Kong's checker looks at the healthy list first.
  for (const s of healthy.http_statuses) if (s >= 0 && s < 1000) statuses[s] = HEALTHY
  const successes = healthy.successes
  const { http_failures: httpFailures, tcp_failures: tcpFailures, timeouts } = unhealthy
  return {
    successes,
    httpFailures,
    tcpFailures,
    timeouts,
    statuses,
    counting: successes > 0 || httpFailures > 0 || tcpFailures > 0 || timeouts > 0,
  }
}

export function activeRules(c: HealthchecksConfig['active']): CheckRules {
  return compile(c.healthy, c.unhealthy)
}

/** Passive `type = tcp` watches connections only: HTTP statuses count as nothing, as in Kong. */
export function passiveRules(c: HealthchecksConfig['passive']): CheckRules {
  const tcp = c.type === 'tcp'
  return compile(
    tcp ? { ...c.healthy, http_statuses: [] } : c.healthy,
    tcp ? { ...c.unhealthy, http_statuses: [] } : c.unhealthy,
  )
}

export function statusVerdict(rules: CheckRules, status: number): Verdict | undefined {
  const kind = status >= 0 && status < 1000 ? rules.statuses[status] : 0
  return kind === HEALTHY ? 'success' : kind === UNHEALTHY ? 'http_failure' : undefined
}

export function outcomeVerdict(rules: CheckRules, outcome: TryOutcome): Verdict | undefined {
  return outcome.kind === 'response' ? statusVerdict(rules, outcome.status) : outcome.kind
}

/** The threshold of a verdict's counter. */
export function limitOf(rules: CheckRules, verdict: Verdict): number {
  switch (verdict) {
    case 'success':
      return rules.successes
    case 'http_failure':
      return rules.httpFailures
    case 'tcp_failure':
      return rules.tcpFailures
    case 'timeout':
      return rules.timeouts
  }
}
