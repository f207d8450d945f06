/** The commented config `jitssh-server init` writes. Every key is documented here; see also man/jitssh-server.8. */
export function renderStarterConfig(input: { username: string; email: string; passwordHash: string }): string {
  return `# jitssh-server configuration (YAML). Relative paths are relative to this file.
# Durations are like "90s", "15m", "12h", "7d". Validate with: jitssh-server check --config <this file>

# The URL people and the CLI use. Must be https:// except on a loopback address.
# Leave it out only when listening on loopback; then it is http://<listen address>.
# public_url: https://access.example.com

# Address and port to listen on. Plain HTTP is allowed only on loopback unless tls or
# behind_tls_proxy is set.
listen: 127.0.0.1:8443

# TLS served by jitssh-server itself (PEM files)...
# tls:
#   cert: tls/fullchain.pem
#   key: tls/privkey.pem
# ...or a TLS-terminating proxy in front (then X-Forwarded-For is believed from trusted_proxies only).
# behind_tls_proxy: true
# trusted_proxies: [127.0.0.1, ::1]

# Where sessions, tokens, issued certificates and the audit log live. One of:
# sqlite: a file (WAL) for a single server process...
storage:
  sqlite: data/jitssh.db
# ...or PostgreSQL for several replicas behind a load balancer (they must also share keys_dir). The
# schema is created on first start. Revocations reach every replica at once (LISTEN/NOTIFY on the
# channel jitssh_revocations): live tunnels close and refresh/signing fail everywhere. Put the password in
# the URL or in the PGPASSWORD environment variable; for TLS add ?sslmode=verify-full.
# storage:
#   postgres: postgres://jitssh@db.internal:5432/jitssh
# or, to size the pool (connections per replica; each replica also holds one for LISTEN):
#   postgres:
#     url: postgres://jitssh@db.internal:5432/jitssh
#     pool_size: 10

# user_ca, host_ca (OpenSSH private keys) and token_signing_key.pem (Ed25519), all mode 0600.
keys_dir: keys

identity:
  # Local users; make a hash with: jitssh-server hash-password  (reads the password from stdin)
  local:
    users:
      - username: ${input.username}
        email: ${input.email}
        groups: [admins]
        password_hash: "${input.passwordHash}"
  # Or an upstream OpenID Connect provider (register <public_url>/oidc/callback as its redirect URI):
  # oidc:
  #   issuer: https://login.example.com
  #   client_id: jitssh
  #   client_secret: change-me
  #   scopes: [openid, email, profile, groups]
  #   groups_claim: groups
  #   username_claim: preferred_username

sessions:
  lifetime: 12h            # absolute end of a CLI login; no token, certificate or tunnel outlives it
  access_token_ttl: 10m
  browser_lifetime: 1h     # the browser's sign-in to this server

certificates:
  default_ttl: 1h          # certificate lifetime when a policy rule sets no max_ttl
  backdate: 60s            # valid_after = now - backdate, for clock skew
  # source_address: [203.0.113.10/32]   # pin certificates to the bastion's egress address

# Deny by default. The first rule that matches the person (users / groups / email_domains) and the
# host (names or patterns like "*.dev.example.com") decides. principals are unix accounts:
# literal names or {email_local} (part of the email before @) or {username}.
# extensions default to [permit-pty]; others: permit-port-forwarding, permit-agent-forwarding,
# permit-X11-forwarding, permit-user-rc.
policy:
  - name: admins-everywhere
    groups: [admins]
    hosts: ["*"]
    principals: ["{username}"]
    max_ttl: 1h
  # - name: developers
  #   email_domains: [example.com]
  #   hosts: ["*.dev.example.com"]
  #   principals: ["{email_local}", deploy]
  #   max_ttl: 8h
  #   extensions: [permit-pty, permit-port-forwarding]
  #   record_input: false  # browser terminals record output and resizes; true adds keystrokes (sudo passwords too)

# Hosts the bastion may connect to: name -> address. Nothing else is ever reached.
targets: {}
#   vm.example.com: 10.0.0.5:22

# Who may use the admin API and pages (audit search, revocation, terminal recordings).
admins:
  groups: [admins]

# Who may list and play back browser terminal recordings (besides admins); matched as admins are.
# auditors:
#   groups: [security]

# Browser terminal recordings (asciicast v2, in the storage above): purged this long after they start.
# recordings:
#   retention: 90d

# Prometheus metrics at /metrics (text format 0.0.4): off unless enabled, as they reveal usage. Served to
# clients on loopback and to requests with "Authorization: Bearer <token>"; everyone else gets a 404.
# Behind a TLS proxy the token is required (the proxy's own connections come from loopback).
# metrics:
#   enabled: true
#   token: "<the output of: openssl rand -hex 32>"
`
}
