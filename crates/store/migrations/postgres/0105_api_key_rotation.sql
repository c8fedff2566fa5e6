-- API key rotation: a new secret replaces the old one, which keeps working until
-- previous_valid_until (a grace period for the client to switch), then never again.

ALTER TABLE api_keys ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE api_keys ADD COLUMN previous_valid_until TIMESTAMPTZ;
ALTER TABLE api_keys ADD COLUMN rotated_at TIMESTAMPTZ;
