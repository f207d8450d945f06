// ~/.jitssh/certs: `<host>` (private key, 0600) and `<host>-cert.pub` (its certificate), per host.
// (Whether one is still good enough for ssh-gen: cert-freshness.ts.)
import { promises as fs } from 'node:fs'
import { parseCertificate, type SshCertificate } from '../../ssh/certificate.js'
import { ensurePrivateDir, readTextOrNull, removeFile, writeFileAtomic } from './atomic-files.js'
import { certPaths, type JitsshPaths } from './paths.js'

/** The key first (0600), then the certificate, each atomically: a reader never sees a half-written file. */
export async function writeKeyAndCertificate(paths: JitsshPaths, host: string, privateKey: string, certificateLine: string): Promise<void> {
  await ensurePrivateDir(paths.home)
  await ensurePrivateDir(paths.certs)
  const files = certPaths(paths, host)
  await writeFileAtomic(files.key, privateKey, 0o600)
  await writeFileAtomic(files.cert, `${certificateLine.trim()}\n`, 0o644)
}

export interface CertificateOnDisk {
  host: string
  certPath: string
  certificate: SshCertificate | null
  /** Why the file could not be read as a certificate. */
  problem?: string
}

export async function listCertificates(paths: JitsshPaths): Promise<CertificateOnDisk[]> {
  let names: string[]
  try {
    names = await fs.readdir(paths.certs)
  } catch {
    return []
  }
  const out: CertificateOnDisk[] = []
  for (const name of names.sort()) {
    if (!name.endsWith('-cert.pub') || name.startsWith('.')) continue
    const host = name.slice(0, -'-cert.pub'.length)
    const { cert } = certPaths(paths, host)
    const text = await readTextOrNull(cert)
    if (text === null) continue
    try {
      out.push({ host, certPath: cert, certificate: parseCertificate(text) })
    } catch (error) {
      out.push({ host, certPath: cert, certificate: null, problem: error instanceof Error ? error.message : String(error) })
    }
  }
  return out
}

/** Removes the key and certificate of every host for which `which` says yes; returns those hosts. */
export async function removeCertificates(paths: JitsshPaths, which: (c: CertificateOnDisk) => boolean): Promise<string[]> {
  const removed: string[] = []
  for (const entry of await listCertificates(paths)) {
    if (!which(entry)) continue
    const files = certPaths(paths, entry.host)
    await removeFile(files.cert)
    await removeFile(files.key)
    removed.push(entry.host)
  }
  return removed
}

/** Removes the certificates (and keys) signed by this user CA (a server's, as its discovery names it); returns the hosts. */
export async function removeServerCertificates(paths: JitsshPaths, userCaLine: string): Promise<string[]> {
  const caBase64 = userCaLine.trim().split(/\s+/)[1]
  return removeCertificates(paths, (c) => c.certificate !== null && c.certificate.signatureKey.blob.toString('base64') === caBase64)
}
