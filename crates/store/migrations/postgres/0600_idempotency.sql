-- Idempotency-Key for every state-changing route, not only submissions. A key row is claimed
-- before the handler runs (`locked_until` is the claim's lease, so a retry while the first
-- request still runs is told to wait), and holds the answer once the request succeeded: its
-- status, content type, Location and body. Submissions keep writing `response` as before.
ALTER TABLE idempotency_keys ADD COLUMN locked_until TIMESTAMPTZ;
ALTER TABLE idempotency_keys ADD COLUMN status INTEGER;
ALTER TABLE idempotency_keys ADD COLUMN content_type TEXT;
ALTER TABLE idempotency_keys ADD COLUMN location TEXT;
ALTER TABLE idempotency_keys ADD COLUMN body BYTEA;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
