/**
 * A private CA and a TLS certificate it signs for 127.0.0.1 (openssl, as an organisation's own CA would be
 * made), for a jitssh server whose certificate no bundled root trusts.
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface PrivateCa {
  /** The CA certificate (PEM): what `jitssh login --ca-file` takes. */
  caFile: string
  /** The server's certificate and key (PEM), for the server's `tls: {cert, key}`. */
  certFile: string
  keyFile: string
}

export function makePrivateCa(dir: string): PrivateCa {
  const file = (name: string) => join(dir, name)
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=jitssh test private CA'])
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1'])
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n')
  openssl(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('san.ext')])
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') }
}
