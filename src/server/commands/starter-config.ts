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
# Beside either: how often this process records that it is alive (with its live tunnels' bytes). A replica
# silent for 3 heartbeats is taken for dead, and another writes the tunnel.close ("server crashed") of each
# tunnel it left open; on SQLite the next start does.
#   heartbeat: 5s

# user_ca, host_ca (OpenSSH private keys), token_signing_key.pem (Ed25519), audit_key (the audit chain's
# HMAC key) and audit_checkpoint_key.pem (Ed25519, signs checkpoints), all mode 0600. Keep this directory
# from whoever administers the database, and back audit_key up apart from it.
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
  #   when:                           # optional: every condition must hold (at signing and on live tunnels)
  #     source_networks: [10.0.0.0/8]
  #     days: [mon-fri]
  #     hours: "08:00-18:00"
  #     time_zone: Europe/Berlin
  #     max_auth_age: 8h              # older sign-ins are asked to sign in again
  # - name: prod-on-request           # nothing standing: access through an approved jitssh request
  #   groups: [developers]
  #   hosts: ["*.prod.example.com"]
  #   principals: [deploy]
  #   request:
  #     max_duration: 4h              # the window starts at approval
  #     approvals: 1                  # from distinct approvers, never the requester
  #     approvers: {groups: [admins]}
  #     break_glass: {groups: [oncall]}
  # - name: no-contractors-in-prod
  #   effect: deny                    # wins over every allow rule
  #   groups: [contractors]
  #   hosts: ["*.prod.example.com"]
  #   record_input: false  # browser terminals record output and resizes; true adds keystrokes (sudo passwords too)

# Service accounts: CI jobs and long-running tools, without a person. Identity key service:<name>; a policy
# rule reaches one only through service_accounts, and its own hosts, principals and max_ttl cap what any rule
# grants. They get short access tokens (never a refresh token) at the token endpoint, from:
#  - trusts: a CI provider's OIDC ID token exchanged by RFC 8693 (jitssh login --github-actions). Conditions
#    are on immutable claims (repository_id, repository_owner_id, ref, environment, job_workflow_ref), never
#    the name-based sub: names can be registered again. Pull-request runs count only with allow_pull_requests.
#  - clients: client credentials, with a public key (private_key_jwt, RFC 7523) or a secret_hash from
#    jitssh-server hash-password (jitssh login --client-id X --client-key key.pem | --client-secret-file F).
# service_accounts:
#   - name: deploy-bot
#     owner: platform-team@example.com
#     hosts: ["*.prod.example.com"]
#     principals: [deploy]
#     max_ttl: 15m
#     trusts:
#       - name: github-deploy
#         issuer: https://token.actions.githubusercontent.com
#         audience: https://access.example.com
#         claims:
#           repository_id: "123456789"
#           repository_owner_id: "987654"
#           ref: refs/heads/main
#           environment: production
#     clients:
#       - id: deploy-bot-jenkins
#         public_key_file: clients/deploy-bot-jenkins.pub.pem
# and a rule for it in policy:
#   - name: deploys
#     service_accounts: [deploy-bot]
#     hosts: ["*.prod.example.com"]
#     principals: [deploy]

# Hosts the bastion may connect to: name -> address. Nothing else is ever reached.
targets: {}
#   vm.example.com: 10.0.0.5:22

# Who may use the admin API and pages (audit search, revocation, terminal recordings).
admins:
  groups: [admins]

# Webhooks for access requests (created, reviewed, approved, denied, expired, break_glass, ...): JSON with a
# Slack-compatible "text", signed: X-Jitssh-Signature: sha256=HMAC-SHA256(secret, "<X-Jitssh-Timestamp>.<body>").
# notifications:
#   webhooks:
#     - url: https://hooks.slack.com/services/...
#       secret: "<the output of: openssl rand -hex 32>"
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

# Per-IP rate limits (requests per minute per client address) and the audit budget of callers who have not
# signed in (rows per minute per process; beyond it they are counted in /metrics and sampled to the log).
# rate_limits:
#   sign_per_minute: 1200
#   tunnel_per_minute: 3000
#   token_per_minute: 300
#   device_authorization_per_minute: 30
#   login_posts_per_minute: 60
#   login_failures_per_user: 10       # failed sign-ins within login_window before more are refused
#   login_failures_per_ip: 50
#   login_window: 15m
#   user_code_failures_per_ip: 20
#   unauthenticated_audit_per_minute: 120

# What a client may hold: the request head must arrive within headers_timeout (slow clients are cut off),
# the whole request within request_timeout; idle keep-alive connections close after keepalive_timeout (behind
# a load balancer, set it above the balancer's idle timeout). per_ip caps the connections of one address,
# WebSocket tunnels included (not applied behind_tls_proxy: cap clients at the proxy).
# connections:
#   headers_timeout: 10s
#   request_timeout: 30s
#   keepalive_timeout: 15s
#   idle_timeout: 60s
#   per_ip: 256

# Signed checkpoints of the audit chain's head, written outside the database, so that jitssh-server audit
# verify finds rows cut off the end (and rows rewritten by someone who got audit_key). Send them off this
# host: a local file does not stop someone who can rewrite this host's disk.
# audit:
#   checkpoints:
#     every_events: 1000
#     interval: 10s
#     file: audit-checkpoints.jsonl       # false: no file
#     stdout: false                       # true: JSON lines on standard output, for a SIEM
#     http:
#       url: https://siem.example.com/jitssh/checkpoints
#       token: "<bearer token of the receiver>"
`
}
