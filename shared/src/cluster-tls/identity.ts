/**
 * Cluster mTLS material from the settings, checked at start so a bad cert fails loudly there, plus the peer
 * checks both planes apply on top of the TLS handshake: in `shared` mode the peer must present exactly our
 * certificate (fingerprint pinning, as Kong); in `pki` mode it must be CA-signed and, on the CP, have an
 * allowed common name.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { PeerCertificate } from 'node:tls'
import { TurnpikeError } from '../errors.ts'
import type { Settings } from '../settings.ts'

/** The name in `turnpike cert gen` certificates, sent as SNI in shared mode (Kong uses `kong_clustering`). */
export const SHARED_SERVER_NAME = 'turnpike_clustering'

export interface ClusterIdentity {
  mode: 'shared' | 'pki'
  cert: Buffer
  key: Buffer
  /** Trust anchors for the peer: our own certificate in shared mode, `cluster_ca_cert` in pki mode. */
  ca: Buffer
  /** sha256 fingerprint of our certificate, `AB:CD:…`. */
  fingerprint: string
  commonName: string
  /** Epoch seconds. */
  expiry: number
  /** The name the DP expects in the CP's certificate (and sends as SNI). */
  serverName: string
  allowedCommonNames: string[]
}

type ClusterSettings = Pick<
  Settings,
  | 'cluster_mtls'
  | 'cluster_cert'
  | 'cluster_cert_key'
  | 'cluster_ca_cert'
  | 'cluster_server_name'
  | 'cluster_allowed_common_names'
>

function invalid(message: string): TurnpikeError {
  return new TurnpikeError('INVALID_OPTIONS', message)
}

/** A setting holding PEM text or the path of a PEM file. */
export function readPem(value: string, setting: string): Buffer {
  if (value.includes('-----BEGIN')) return Buffer.from(value.replaceAll('\\n', '\n'))
  try {
    return readFileSync(value)
  } catch (err) {
    throw invalid(`${setting}: cannot read '${value}': ${(err as Error).message}`)
  }
}

function commonNameOf(subject: string): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(subject)?.[1] ?? ''
}

/** The cluster mTLS material for a node, or undefined when `cluster_mtls=off`. Throws naming the setting at fault. */
export function loadClusterIdentity(settings: ClusterSettings, now = Date.now()): ClusterIdentity | undefined {
  const mode = settings.cluster_mtls
  if (mode === 'off') return undefined
  if (!settings.cluster_cert || !settings.cluster_cert_key)
    throw invalid(
      `cluster_mtls=${mode} needs cluster_cert and cluster_cert_key (TURNPIKE_CLUSTER_CERT, TURNPIKE_CLUSTER_CERT_KEY); ` +
        `'turnpike cert gen' makes a shared pair, or set cluster_mtls=off on a trusted network`,
    )
  const cert = readPem(settings.cluster_cert, 'cluster_cert')
  const key = readPem(settings.cluster_cert_key, 'cluster_cert_key')
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch (err) {
    throw invalid(`cluster_cert is not a PEM certificate: ${(err as Error).message}`)
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('it belongs to another certificate')
  } catch (err) {
    throw invalid(`cluster_cert_key does not match cluster_cert: ${(err as Error).message}`)
  }
  const expiry = Math.floor(Date.parse(x509.validTo) / 1000)
  if (expiry * 1000 < now) throw invalid(`cluster_cert expired on ${x509.validTo}`)
  let ca = cert
  if (mode === 'pki') {
    if (!settings.cluster_ca_cert) throw invalid('cluster_mtls=pki needs cluster_ca_cert, the CA that signs every node')
    ca = readPem(settings.cluster_ca_cert, 'cluster_ca_cert')
  }
  const commonName = commonNameOf(x509.subject)
  return {
    mode,
    cert,
    key,
    ca,
    fingerprint: x509.fingerprint256,
    commonName,
    expiry,
    serverName: settings.cluster_server_name || (mode === 'shared' ? commonName || SHARED_SERVER_NAME : ''),
    allowedCommonNames: settings.cluster_allowed_common_names,
  }
}

export type PeerCheck = { ok: true; commonName: string; expiry: number } | { ok: false; reason: string }

/**
 * The CP's check of a DP's certificate, after the handshake. `peer` is undefined when the DP sent none or the
 * TLS layer could not verify it against our trust anchors.
 */
export function checkDataPlanePeer(identity: ClusterIdentity, peer: PeerCertificate | undefined): PeerCheck {
  if (!peer?.raw)
    return {
      ok: false,
      reason:
        identity.mode === 'shared'
          ? 'no client certificate, or not the shared cluster certificate'
          : 'no client certificate, or not signed by cluster_ca_cert',
    }
  const commonName = peer.subject?.CN ?? ''
  const cn = Array.isArray(commonName) ? (commonName[0] ?? '') : commonName
  if (identity.mode === 'shared' && peer.fingerprint256 !== identity.fingerprint)
    return { ok: false, reason: `certificate ${peer.fingerprint256} is not the shared cluster certificate` }
  if (identity.mode === 'pki' && identity.allowedCommonNames.length && !identity.allowedCommonNames.includes(cn))
    return { ok: false, reason: `common name '${cn}' is not in cluster_allowed_common_names` }
  return { ok: true, commonName: cn, expiry: Math.floor(Date.parse(peer.valid_to) / 1000) }
}

/** The DP's check of the CP's certificate in shared mode (pki uses the standard host name check). */
export function checkSharedServer(identity: ClusterIdentity, peer: PeerCertificate): Error | undefined {
  return peer.fingerprint256 === identity.fingerprint
    ? undefined
    : new Error(`control plane certificate ${peer.fingerprint256} is not the shared cluster certificate`)
}
