/**
 * Schema versions, applied in order inside one transaction each and recorded in schema_migrations.
 * Never edit a released migration: add the next one.
 */
export const SQLITE_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        sub TEXT NOT NULL,
        email TEXT NOT NULL,
        identity TEXT NOT NULL,
        grant_type TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        revoked_reason TEXT,
        client_ip TEXT,
        user_agent TEXT
      );
      CREATE INDEX sessions_by_sub ON sessions (sub);
      CREATE INDEX sessions_by_email ON sessions (email);

      CREATE TABLE web_sessions (
        id_hash TEXT PRIMARY KEY,
        identity TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );

      CREATE TABLE auth_codes (
        code_hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        identity TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        session_id TEXT REFERENCES sessions (id)
      );

      CREATE TABLE device_codes (
        device_code_hash TEXT PRIMARY KEY,
        user_code TEXT NOT NULL UNIQUE,
        client_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        interval_seconds INTEGER NOT NULL,
        last_polled_at INTEGER,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
        identity TEXT,
        decided_at INTEGER,
        requester_ip TEXT,
        requester_user_agent TEXT,
        session_id TEXT REFERENCES sessions (id)
      );

      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      );
      CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

      CREATE TABLE certificates (
        serial TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id),
        user_email TEXT NOT NULL,
        host TEXT NOT NULL,
        principals TEXT NOT NULL,
        key_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        valid_after INTEGER NOT NULL,
        valid_before INTEGER NOT NULL,
        issued_at INTEGER NOT NULL
      );
      CREATE INDEX certificates_by_session ON certificates (session_id);
      CREATE INDEX certificates_by_user ON certificates (user_email);

      CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        type TEXT NOT NULL,
        user TEXT,
        session_id TEXT,
        host TEXT,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_by_user ON audit_events (user, seq);
      CREATE INDEX audit_by_host ON audit_events (host, seq);
      CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
      CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

      CREATE TABLE login_failures (
        key TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX login_failures_by_key ON login_failures (key, at);

      CREATE TABLE oidc_logins (
        id_hash TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        nonce TEXT NOT NULL,
        code_verifier TEXT NOT NULL,
        return_to TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `,
  },
  {
    // Admin API (issue 6): audit search by type and time, session listing, disabled users, and the KRL's
    // "unexpired certificates of revoked sessions" query.
    version: 2,
    sql: `
      CREATE INDEX audit_by_type ON audit_events (type, seq);
      CREATE INDEX audit_by_time ON audit_events (time, seq);
      CREATE INDEX sessions_by_created ON sessions (created_at);
      CREATE INDEX sessions_by_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
      CREATE INDEX certificates_by_valid_before ON certificates (valid_before);

      CREATE TABLE disabled_users (
        email TEXT PRIMARY KEY,
        disabled INTEGER NOT NULL CHECK (disabled IN (0, 1)),
        changed_at INTEGER NOT NULL,
        changed_by TEXT,
        reason TEXT
      );
    `,
  },
  {
    // The active-sessions gauge of /metrics counts sessions that have not ended: a range on expires_at.
    version: 3,
    sql: `
      CREATE INDEX sessions_by_expires ON sessions (expires_at);
    `,
  },
]
