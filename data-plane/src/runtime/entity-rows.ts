/** The snapshot's services and routes as the data plane reads them: validated, defaults filled, references resolved. */

export interface ServiceRow {
  id: string
  name: string | null
  protocol: string
  host: string
  port: number
  path: string | null
  retries: number
  connect_timeout: number
  read_timeout: number
  write_timeout: number
  tls_verify: boolean | null
  tls_verify_depth: number | null
  /** Ids into the snapshot's `ca_certificates`. */
  ca_certificates: string[] | null
  /** Id into the snapshot's `certificates`: the client certificate for upstream mTLS. */
  client_certificate_id: string | null
  enabled: boolean
}

export interface RouteRow {
  id: string
  name: string | null
  protocols: string[]
  methods: string[] | null
  hosts: string[] | null
  paths: string[] | null
  headers: Record<string, string[]> | null
  snis: string[] | null
  regex_priority: number
  strip_path: boolean
  preserve_host: boolean
  path_handling: string
  https_redirect_status_code: number
  request_buffering: boolean
  response_buffering: boolean
  created_at: number
  service_id: string | null
}

/** A TLS certificate and key, optionally with an alternate pair of another key type (RSA next to ECDSA). */
export interface CertificateRow {
  id: string
  cert: string
  key: string
  cert_alt: string | null
  key_alt: string | null
}

/** A server name (wildcards allowed) served with a certificate. */
export interface SniRow {
  name: string
  certificate_id: string
}

export interface CaCertificateRow {
  id: string
  cert: string
}

export interface ConfigRows {
  services: ServiceRow[]
  routes: RouteRow[]
  certificates: CertificateRow[]
  snis: SniRow[]
  ca_certificates: CaCertificateRow[]
  upstreams: UpstreamRow[]
  targets: TargetRow[]
}

/** Kong's upstream healthchecks record, defaults filled (shared/src/entities/upstreams.ts defines it). */
export interface HealthchecksConfig {
  active: {
    type: 'tcp' | 'http' | 'https' | 'grpc' | 'grpcs'
    /** Seconds. */
    timeout: number
    concurrency: number
    http_path: string
    https_sni: string | null
    https_verify_certificate: boolean
    headers: Record<string, string[]> | null
    healthy: { interval: number; http_statuses: number[]; successes: number }
    unhealthy: {
      interval: number
      http_statuses: number[]
      tcp_failures: number
      timeouts: number
      http_failures: number
    }
  }
  passive: {
    type: 'tcp' | 'http' | 'https' | 'grpc' | 'grpcs'
    healthy: { http_statuses: number[]; successes: number }
    unhealthy: { http_statuses: number[]; tcp_failures: number; timeouts: number; http_failures: number }
  }
  /** Percentage of the total weight that must be available, else the whole upstream is unhealthy (503). */
  threshold: number
}

export interface UpstreamRow {
  id: string
  name: string
  algorithm: 'round-robin' | 'consistent-hashing' | 'least-connections' | 'latency'
  hash_on: string
  hash_fallback: string
  hash_on_header: string | null
  hash_fallback_header: string | null
  hash_on_cookie: string | null
  hash_on_cookie_path: string
  hash_on_query_arg: string | null
  hash_fallback_query_arg: string | null
  hash_on_uri_capture: string | null
  hash_fallback_uri_capture: string | null
  slots: number
  healthchecks: HealthchecksConfig
  host_header: string | null
  /** Id into the snapshot's `certificates`: overrides the service's client certificate. */
  client_certificate_id: string | null
  use_srv_name: boolean
}

export interface TargetRow {
  id: string
  upstream_id: string
  /** `host:port`, normalized as Kong stores it. */
  target: string
  weight: number
}
