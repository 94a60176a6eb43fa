/**
 * The balancer seam: what the request path asks of an upstream (a member to send to, and how that went), and
 * what the algorithms, health checks and DNS behind it see. `dispatch` knows only `Balancer`.
 */

/** One address an upstream balances over: a target, or one of the addresses its name resolved to. */
export interface Member {
  /** `ip:port` (IPv6 bracketed), unique within its upstream; health is kept per key. */
  readonly key: string
  readonly targetId: string
  /** The target as stored: `host:port`. */
  readonly target: string
  /** What to dial: an IP, or the target's host when it is a literal address. */
  readonly address: string
  readonly port: number
  /** The target's weight, or the SRV record's; 0 drains the member. */
  readonly weight: number
  /** The SRV record's target name (sent as Host when the upstream has `use_srv_name`). */
  readonly srvName: string | undefined
  /** Requests in flight to this member (least-connections, latency). */
  inFlight: number
}

/** Request facts the hashing algorithms read (`hash_on` / `hash_fallback`); read lazily, only when hashing. */
export interface HashInput {
  consumerId(): string | undefined
  clientIp(): string
  header(name: string): string | undefined
  cookie(name: string): string | undefined
  path(): string
  queryArg(name: string): string | undefined
  uriCapture(name: string): string | undefined
}

/** How one try went, for the passive health checks and the latency algorithm. */
export type TryOutcome =
  | { readonly kind: 'response'; readonly status: number }
  | { readonly kind: 'tcp_failure' }
  | { readonly kind: 'timeout' }

export interface Pick {
  readonly member: Member
  /**
   * `hash_on = cookie` and the request had none: the cookie value chosen, to be set on the response
   * (`name=value; Path=<hash_on_cookie_path>`) so the client sticks to this member.
   */
  readonly setCookie: string | undefined
}

/** An upstream's balancer as the request path uses it. */
export interface Balancer {
  /**
   * The member for this try; `tried` holds the members earlier tries of the same request used (a retry goes to
   * the next one, as Kong). Undefined when no member is available: Kong's 503 "failure to get a peer from the
   * ring-balancer".
   */
  pick(input: HashInput, tried: readonly Member[] | null): Pick | undefined
  /** Ends a try: `inFlight` back down, the outcome counted by passive checks, the latency fed to EWMA. */
  done(member: Member, outcome: TryOutcome, latencyMs: number): void
}

/** A selection strategy over a fixed member list; rebuilt when members or weights change, never on health changes. */
export interface Algorithm {
  /**
   * An available member, or undefined. `hash` is the request's hash (consistent-hashing only); `available` says
   * whether a member may be used now (healthy, weight > 0, not tried yet by this request).
   */
  pick(hash: number | undefined, available: (m: Member) => boolean): Member | undefined
  /** Latency feedback (the latency algorithm keeps an EWMA per member; others ignore it). */
  observe?(member: Member, latencyMs: number): void
}

/** One DNS answer for a target's host name, as the balancer expands it into members. */
export interface ResolvedRecord {
  readonly address: string
  /** SRV: the port and weight the record gives; A/AAAA: undefined (the target's port and weight apply). */
  readonly port: number | undefined
  readonly weight: number | undefined
  /** SRV: the record's target name. */
  readonly srvName: string | undefined
}

export type DnsAnswer =
  | { readonly ok: true; readonly records: readonly ResolvedRecord[] }
  /** `stale`: the last good answer, still served (and said so in the log) for `dns_stale_ttl`. */
  | { readonly ok: false; readonly error: string; readonly stale: readonly ResolvedRecord[] | undefined }

/** Resolves target names (SRV first, then A/AAAA, as Kong's dns_order), re-resolving by TTL while watched. */
export interface NameResolver {
  /** The current answer for `name`, if one arrived yet. */
  current(name: string): DnsAnswer | undefined
  /** Resolves `name` now and again by TTL; `listener` runs on every changed answer. Returns the unwatch function. */
  watch(name: string, listener: (answer: DnsAnswer) => void): () => void
}
