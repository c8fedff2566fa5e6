-- Bodies of mediated exchanges, kept only when the gateway is told to (`keep_bodies`), sealed
-- with AES-256-GCM under the node's body key (the record's node and number bound in), and
-- dropped after `body_retention_days` while the record itself stays.
ALTER TABLE exchange_log ADD COLUMN bodies BYTEA;
