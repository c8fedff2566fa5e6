-- Operational monitoring of the data-sharing gateway: per minute, node, service, client and
-- outcome ('ok', 'provider_error' or the X-Road error type), the calls, bytes each way, summed
-- latency and the latency counts per bucket (a JSON array, buckets of
-- domain::exchange::monitor). Each node writes only its own rows, with absolute values.
CREATE TABLE exchange_stats (
    minute      TIMESTAMPTZ NOT NULL,
    node        TEXT NOT NULL,
    service_id  TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    requests    BIGINT NOT NULL,
    bytes_in    BIGINT NOT NULL,
    bytes_out   BIGINT NOT NULL,
    duration_us BIGINT NOT NULL,
    buckets     TEXT NOT NULL,
    PRIMARY KEY (minute, node, service_id, client_id, outcome)
);
