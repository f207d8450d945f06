/**
 * The schema: one version sequence, each step written for both dialects side by side, so a change to one
 * dialect alone stands out here and fails the schema parity test (test/integration/store-schema-parity).
 * Each version is applied once, in order, and recorded (SQLite: schema_migrations, one transaction per
 * version; PostgreSQL: jitssh_schema_migrations, all pending versions in one transaction under an advisory
 * lock). Never edit a released step: add the next one.
 *
 * Both dialects have the same tables, columns and indexes. Times are Unix ms (SQLite INTEGER, PostgreSQL
 * BIGINT); identity, principals and audit detail are JSON text, so the audit hash sees exactly the bytes it
 * sealed; booleans are INTEGER 0/1 in SQLite. PostgreSQL columns compared as ranges or sorted (audit type
 * families, ISO times, serials, ids) use the "C" collation, so they order by bytes as in SQLite.
 *
 * History: before the two lists were merged, PostgreSQL's first step already held what is SQLite's
 * version 2 here, and its second step was version 3; a database migrated then has versions {1, 2} recorded,
 * which is why version 3's PostgreSQL index is created only if missing.
 */
export interface Migration {
  version: number
  /** What the step is for, in a few words. */
  purpose: string
  sqlite: string
  postgres: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    purpose: 'sessions, OAuth codes and tokens, certificates, the audit chain, login failures',
    sqlite: `
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
    postgres: `
      CREATE TABLE sessions (
        id TEXT COLLATE "C" PRIMARY KEY,
        sub TEXT NOT NULL,
        email TEXT NOT NULL,
        identity TEXT NOT NULL,
        grant_type TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT,
        revoked_reason TEXT,
        client_ip TEXT,
        user_agent TEXT
      );
      CREATE INDEX sessions_by_sub ON sessions (sub);
      CREATE INDEX sessions_by_email ON sessions (email);
      CREATE INDEX sessions_by_created ON sessions (created_at);
      CREATE INDEX sessions_by_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

      CREATE TABLE web_sessions (
        id_hash TEXT PRIMARY KEY,
        identity TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );

      CREATE TABLE auth_codes (
        code_hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        code_challenge TEXT NOT NULL,
        identity TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT,
        session_id TEXT COLLATE "C" REFERENCES sessions (id)
      );

      CREATE TABLE device_codes (
        device_code_hash TEXT PRIMARY KEY,
        user_code TEXT NOT NULL UNIQUE,
        client_id TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        interval_seconds INTEGER NOT NULL,
        last_polled_at BIGINT,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
        identity TEXT,
        decided_at BIGINT,
        requester_ip TEXT,
        requester_user_agent TEXT,
        session_id TEXT COLLATE "C" REFERENCES sessions (id)
      );

      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id),
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
      );
      CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

      CREATE TABLE certificates (
        serial TEXT COLLATE "C" PRIMARY KEY,
        session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id),
        user_email TEXT NOT NULL,
        host TEXT NOT NULL,
        principals TEXT NOT NULL,
        key_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        valid_after BIGINT NOT NULL,
        valid_before BIGINT NOT NULL,
        issued_at BIGINT NOT NULL
      );
      CREATE INDEX certificates_by_session ON certificates (session_id);
      CREATE INDEX certificates_by_user ON certificates (user_email);
      CREATE INDEX certificates_by_valid_before ON certificates (valid_before);

      CREATE TABLE audit_events (
        seq BIGINT PRIMARY KEY,
        time TEXT COLLATE "C" NOT NULL,
        type TEXT COLLATE "C" NOT NULL,
        user_email TEXT,
        session_id TEXT,
        host TEXT,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_by_user ON audit_events (user_email, seq);
      CREATE INDEX audit_by_host ON audit_events (host, seq);
      CREATE INDEX audit_by_type ON audit_events (type, seq);
      CREATE INDEX audit_by_time ON audit_events (time, seq);
      CREATE FUNCTION jitssh_audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$;
      CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION jitssh_audit_events_append_only();
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION jitssh_audit_events_append_only();

      CREATE TABLE login_failures (
        key TEXT NOT NULL,
        at BIGINT NOT NULL
      );
      CREATE INDEX login_failures_by_key ON login_failures (key, at);

      CREATE TABLE oidc_logins (
        id_hash TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        nonce TEXT NOT NULL,
        code_verifier TEXT NOT NULL,
        return_to TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );

      CREATE TABLE disabled_users (
        email TEXT PRIMARY KEY,
        disabled BOOLEAN NOT NULL,
        changed_at BIGINT NOT NULL,
        changed_by TEXT,
        reason TEXT
      );
    `,
  },
  {
    version: 2,
    purpose: 'admin API: audit search by type and time, session listing, disabled users, the KRL query',
    sqlite: `
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
    // PostgreSQL's version 1 already has these.
    postgres: '',
  },
  {
    version: 3,
    purpose: 'the active-sessions gauge of /metrics: a range on expires_at',
    sqlite: 'CREATE INDEX sessions_by_expires ON sessions (expires_at);',
    postgres: 'CREATE INDEX IF NOT EXISTS sessions_by_expires ON sessions (expires_at);',
  },
  {
    version: 4,
    purpose: "the audit event's user column is user_email in both dialects (user is reserved in PostgreSQL)",
    sqlite: 'ALTER TABLE audit_events RENAME COLUMN user TO user_email;',
    postgres: '',
  },
  {
    version: 5,
    purpose: 'offboarding: how and when each login authenticated, browser sessions by person, upstream OIDC grants',
    // Browser sessions live an hour and hold no `auth`: they are dropped, and their owners sign in again.
    sqlite: `
      DELETE FROM web_sessions;
      ALTER TABLE web_sessions ADD COLUMN sub TEXT;
      ALTER TABLE web_sessions ADD COLUMN email TEXT;
      ALTER TABLE web_sessions ADD COLUMN auth TEXT;
      ALTER TABLE web_sessions ADD COLUMN flow TEXT;
      CREATE INDEX web_sessions_by_email ON web_sessions (email);
      CREATE INDEX web_sessions_by_sub ON web_sessions (sub);
      ALTER TABLE sessions ADD COLUMN auth TEXT;
      ALTER TABLE auth_codes ADD COLUMN auth TEXT;
      ALTER TABLE device_codes ADD COLUMN auth TEXT;

      CREATE TABLE upstream_grants (
        id TEXT PRIMARY KEY,
        sub TEXT NOT NULL,
        claims TEXT NOT NULL,
        refresh_token TEXT,
        auth_time INTEGER NOT NULL,
        checked_at INTEGER NOT NULL,
        ended_at INTEGER,
        ended_reason TEXT
      );
      CREATE INDEX upstream_grants_by_sub ON upstream_grants (sub);
    `,
    postgres: `
      DELETE FROM web_sessions;
      ALTER TABLE web_sessions ADD COLUMN sub TEXT;
      ALTER TABLE web_sessions ADD COLUMN email TEXT;
      ALTER TABLE web_sessions ADD COLUMN auth TEXT;
      ALTER TABLE web_sessions ADD COLUMN flow TEXT;
      CREATE INDEX web_sessions_by_email ON web_sessions (email);
      CREATE INDEX web_sessions_by_sub ON web_sessions (sub);
      ALTER TABLE sessions ADD COLUMN auth TEXT;
      ALTER TABLE auth_codes ADD COLUMN auth TEXT;
      ALTER TABLE device_codes ADD COLUMN auth TEXT;

      CREATE TABLE upstream_grants (
        id TEXT COLLATE "C" PRIMARY KEY,
        sub TEXT NOT NULL,
        claims TEXT NOT NULL,
        refresh_token TEXT,
        auth_time BIGINT NOT NULL,
        checked_at BIGINT NOT NULL,
        ended_at BIGINT,
        ended_reason TEXT
      );
      CREATE INDEX upstream_grants_by_sub ON upstream_grants (sub);
    `,
  },  {
    version: 6,
    purpose: 'access requests and their reviews; the grant a certificate was issued under',
    sqlite: `
      CREATE TABLE access_requests (
        id TEXT PRIMARY KEY,
        requester_sub TEXT NOT NULL,
        requester_email TEXT NOT NULL,
        requester TEXT NOT NULL,
        rule TEXT NOT NULL,
        host TEXT NOT NULL,
        login TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        reason TEXT,
        state TEXT NOT NULL,
        approvals_required INTEGER NOT NULL,
        break_glass INTEGER NOT NULL CHECK (break_glass IN (0, 1)),
        created_at INTEGER NOT NULL,
        pending_until INTEGER NOT NULL,
        approved_at INTEGER,
        claim_by INTEGER,
        ends_at INTEGER,
        first_used_at INTEGER,
        closed_at INTEGER,
        closed_by TEXT,
        closed_reason TEXT,
        client_ip TEXT
      );
      CREATE INDEX access_requests_by_requester ON access_requests (requester_sub, created_at);
      CREATE INDEX access_requests_by_state ON access_requests (state, created_at);

      CREATE TABLE access_reviews (
        request_id TEXT NOT NULL REFERENCES access_requests (id),
        reviewer TEXT NOT NULL,
        reviewer_email TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT,
        at INTEGER NOT NULL,
        PRIMARY KEY (request_id, reviewer)
      );

      ALTER TABLE certificates ADD COLUMN grant_id TEXT;
      CREATE INDEX certificates_by_grant ON certificates (grant_id);
    `,
    postgres: `
      CREATE TABLE access_requests (
        id TEXT COLLATE "C" PRIMARY KEY,
        requester_sub TEXT NOT NULL,
        requester_email TEXT NOT NULL,
        requester TEXT NOT NULL,
        rule TEXT NOT NULL,
        host TEXT NOT NULL,
        login TEXT NOT NULL,
        duration_ms BIGINT NOT NULL,
        reason TEXT,
        state TEXT NOT NULL,
        approvals_required INTEGER NOT NULL,
        break_glass BOOLEAN NOT NULL,
        created_at BIGINT NOT NULL,
        pending_until BIGINT NOT NULL,
        approved_at BIGINT,
        claim_by BIGINT,
        ends_at BIGINT,
        first_used_at BIGINT,
        closed_at BIGINT,
        closed_by TEXT,
        closed_reason TEXT,
        client_ip TEXT
      );
      CREATE INDEX access_requests_by_requester ON access_requests (requester_sub, created_at);
      CREATE INDEX access_requests_by_state ON access_requests (state, created_at);

      CREATE TABLE access_reviews (
        request_id TEXT COLLATE "C" NOT NULL REFERENCES access_requests (id),
        reviewer TEXT NOT NULL,
        reviewer_email TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT,
        at BIGINT NOT NULL,
        PRIMARY KEY (request_id, reviewer)
      );

      ALTER TABLE certificates ADD COLUMN grant_id TEXT;
      CREATE INDEX certificates_by_grant ON certificates (grant_id);
    `,
  },
  {
    version: 7,
    purpose: 'browser terminals: recordings (asciicast v2 in chunks, readable from every replica) and one-time WebSocket tickets',
    sqlite: `
      CREATE TABLE recordings (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        user_email TEXT NOT NULL,
        host TEXT NOT NULL,
        login TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        duration_ms INTEGER,
        size INTEGER,
        sha256 TEXT,
        record_input INTEGER NOT NULL CHECK (record_input IN (0, 1)),
        width INTEGER NOT NULL,
        height INTEGER NOT NULL
      );
      CREATE INDEX recordings_by_started ON recordings (started_at);
      CREATE INDEX recordings_by_user ON recordings (user_email, started_at);
      CREATE INDEX recordings_by_host ON recordings (host, started_at);

      CREATE TABLE recording_chunks (
        recording_id TEXT NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (recording_id, seq)
      );

      CREATE TABLE terminal_tickets (
        ticket_hash TEXT PRIMARY KEY,
        web_session TEXT NOT NULL,
        host TEXT NOT NULL,
        login TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX terminal_tickets_by_expires ON terminal_tickets (expires_at);
    `,
    postgres: `
      CREATE TABLE recordings (
        id TEXT COLLATE "C" PRIMARY KEY,
        session_id TEXT COLLATE "C" NOT NULL,
        user_email TEXT NOT NULL,
        host TEXT NOT NULL,
        login TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        ended_at BIGINT,
        duration_ms BIGINT,
        size BIGINT,
        sha256 TEXT,
        record_input BOOLEAN NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL
      );
      CREATE INDEX recordings_by_started ON recordings (started_at);
      CREATE INDEX recordings_by_user ON recordings (user_email, started_at);
      CREATE INDEX recordings_by_host ON recordings (host, started_at);

      CREATE TABLE recording_chunks (
        recording_id TEXT COLLATE "C" NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (recording_id, seq)
      );

      CREATE TABLE terminal_tickets (
        ticket_hash TEXT PRIMARY KEY,
        web_session TEXT NOT NULL,
        host TEXT NOT NULL,
        login TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX terminal_tickets_by_expires ON terminal_tickets (expires_at);
    `,
  },
  {
    version: 8,
    purpose: 'automation identities: single-use ids (jti) of presented workload tokens and client assertions, until they expire',
    sqlite: `
      CREATE TABLE used_token_ids (
        key TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX used_token_ids_by_expires ON used_token_ids (expires_at);
    `,
    postgres: `
      CREATE TABLE used_token_ids (
        key TEXT COLLATE "C" PRIMARY KEY,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX used_token_ids_by_expires ON used_token_ids (expires_at);
    `,
  },
  {
    version: 9,
    purpose: 'crash reconciliation: the server processes sharing the database (heartbeats) and the tunnels each holds open',
    sqlite: `
      CREATE TABLE replicas (
        id TEXT PRIMARY KEY,
        hostname TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        heartbeat_ms INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL,
        stopped_at INTEGER,
        reaped_at INTEGER,
        reaped_by TEXT
      );
      CREATE INDEX replicas_unreaped ON replicas (reaped_at);

      CREATE TABLE live_tunnels (
        id TEXT PRIMARY KEY,
        replica_id TEXT NOT NULL REFERENCES replicas (id),
        session_id TEXT NOT NULL,
        user_email TEXT NOT NULL,
        host TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        bytes_up INTEGER NOT NULL,
        bytes_down INTEGER NOT NULL,
        bytes_at INTEGER NOT NULL
      );
      CREATE INDEX live_tunnels_by_replica ON live_tunnels (replica_id);
      CREATE INDEX live_tunnels_by_session ON live_tunnels (session_id);
    `,
    postgres: `
      CREATE TABLE replicas (
        id TEXT COLLATE "C" PRIMARY KEY,
        hostname TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at BIGINT NOT NULL,
        heartbeat_ms BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL,
        stopped_at BIGINT,
        reaped_at BIGINT,
        reaped_by TEXT
      );
      CREATE INDEX replicas_unreaped ON replicas (reaped_at);

      CREATE TABLE live_tunnels (
        id TEXT COLLATE "C" PRIMARY KEY,
        replica_id TEXT COLLATE "C" NOT NULL REFERENCES replicas (id),
        session_id TEXT NOT NULL,
        user_email TEXT NOT NULL,
        host TEXT NOT NULL,
        opened_at BIGINT NOT NULL,
        bytes_up BIGINT NOT NULL,
        bytes_down BIGINT NOT NULL,
        bytes_at BIGINT NOT NULL
      );
      CREATE INDEX live_tunnels_by_replica ON live_tunnels (replica_id);
      CREATE INDEX live_tunnels_by_session ON live_tunnels (session_id);
    `,
  },
]
