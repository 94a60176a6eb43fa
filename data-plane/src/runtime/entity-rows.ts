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
}
