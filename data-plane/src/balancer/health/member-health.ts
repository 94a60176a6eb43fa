/**
 * One member's health and counters, with Kong's counting rules: a success clears the failure counters, any failure
 * clears the success counter, a counter whose threshold is 0 does not count, and reaching a threshold flips the
 * state (and clears every counter). One set of counters serves the active and the passive checker, each counting
 * against its own thresholds, as in Kong's checker.
 *
 * Deliberate difference: a success clears the failure counters even when the success threshold is 0 (Kong's
 * checker then ignores the report), so "N failures" means N in a row rather than N ever.
 */
import { type CheckRules, limitOf, type Verdict } from './check-rules.ts'

/** What last set a member's state. */
export type HealthCause = 'active' | 'passive' | 'manual'

export class MemberHealth {
  healthy = true
  successes = 0
  httpFailures = 0
  tcpFailures = 0
  timeouts = 0
  /** Undefined while the member has never changed state. */
  cause: HealthCause | undefined = undefined
  /** Clock ms of the last state change (or failed half-open trial). */
  changedAt = 0
  /** Clock ms a half-open trial request was let through; -1 when none is out. */
  trialAt = -1

  /**
   * Counts one observation; returns whether the state flipped. `mayRecover` false keeps an unhealthy member
   * unhealthy whatever the successes (proxied traffic alone never brings a member back, as in Kong).
   */
  record(verdict: Verdict, rules: CheckRules, mayRecover: boolean): boolean {
    const limit = limitOf(rules, verdict)
    if (verdict === 'success') {
      this.httpFailures = 0
      this.tcpFailures = 0
      this.timeouts = 0
      if (limit === 0 || this.healthy || !mayRecover) return false
      if (++this.successes < limit) return false
      return true
    }
    this.successes = 0
    if (limit === 0) return false
    let count: number
    if (verdict === 'http_failure') count = ++this.httpFailures
    else if (verdict === 'tcp_failure') count = ++this.tcpFailures
    else count = ++this.timeouts
    return this.healthy && count >= limit
  }

  /** Sets the state and clears the counters (a threshold reached, or a manual override). */
  set(healthy: boolean, cause: HealthCause, now: number): void {
    this.healthy = healthy
    this.cause = cause
    this.changedAt = now
    this.trialAt = -1
    this.successes = 0
    this.httpFailures = 0
    this.tcpFailures = 0
    this.timeouts = 0
  }
}
