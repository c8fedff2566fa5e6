#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, every test on SQLite and PostgreSQL,
# a smoke run of the benchmark harness, the crash-safety run, API fuzzing with schemathesis and a
# short run of the parser fuzz targets. Installs and starts what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# CI builds once from a fresh clone: incremental compilation would only add work and disk.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing PostgreSQL"
    apt_install postgresql
  fi
  if ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
    log "starting PostgreSQL"
    cluster=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$cluster" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -q && break; sleep 1; done
  fi
  url=${CQS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1/postgres}
  if ! psql "$url" -Atqc 'select 1' >/dev/null 2>&1; then
    # A fresh Debian cluster asks for a password on TCP: give the superuser a local one.
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'cqs-test'\"" >/dev/null
    url=postgres://postgres:cqs-test@127.0.0.1/postgres
  fi
  export CQS_TEST_POSTGRES_URL=$url
}

# Tools the document tests call: SoftHSM2 (a real PKCS#11 token), poppler (pdftotext, pdftoppm,
# pdfsig), certutil (an NSS database trusting the test CA, for pdfsig) and openssl (cms -verify,
# ts -reply as a test timestamp authority).
ensure_document_tools() {
  local missing=()
  command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
  command -v pdfsig >/dev/null 2>&1 || missing+=(poppler-utils)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# NATS with JetStream for the event-bus tests (each test makes its own stream and subjects).
ensure_nats() {
  if ! command -v nats-server >/dev/null 2>&1; then
    log "installing NATS"
    apt_install nats-server
  fi
  if ! port_open 4222; then
    log "starting NATS with JetStream"
    mkdir -p /var/lib/nats-server
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
    for _ in $(seq 1 30); do port_open 4222 && break; sleep 1; done
  fi
  export CQS_TEST_NATS_URL=${CQS_TEST_NATS_URL:-nats://127.0.0.1:4222}
}

# Python's aiosmtpd (from PyPI): the real SMTP server the e-mail tests send through
# (tests/smtp/capture.py).
ensure_smtp_server() {
  if ! command -v python3 >/dev/null 2>&1; then
    log "installing Python"
    apt_install python3 python3-pip
  fi
  if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    log "installing aiosmtpd"
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    python3 -m pip install --quiet --disable-pip-version-check aiosmtpd 2>/dev/null ||
      python3 -m pip install --quiet --disable-pip-version-check --break-system-packages aiosmtpd
  fi
}

# Node.js and the npm package oidc-provider: the real OpenID Connect provider the e-ID sign-in
# test runs against (tests/oidc/provider.mjs).
ensure_oidc_provider() {
  if ! command -v npm >/dev/null 2>&1; then
    log "installing Node.js for the OpenID Connect provider"
    apt_install nodejs npm
  fi
  (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
}

# Databases made by this run carry its tag, so a run drops only its own.
CQS_TEST_RUN=$(printf %s "${CQS_TEST_RUN:-r$(date +%s)$$}" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9_' | cut -c1-24)
export CQS_TEST_RUN

drop_test_databases() {
  psql "$CQS_TEST_POSTGRES_URL" -Atqc "select datname from pg_database where datname like 'cqs\_t\_${CQS_TEST_RUN}\_%' or datname like 'cqs\_bench\_${CQS_TEST_RUN}\_%'" 2>/dev/null |
    while read -r db; do psql "$CQS_TEST_POSTGRES_URL" -qc "drop database if exists \"$db\" with (force)" >/dev/null; done
}

# cargo-fuzz (crates.io) for the parser fuzz targets in fuzz/; they build on the stable
# toolchain with RUSTC_BOOTSTRAP=1 (scripts/fuzz.sh), so CI needs no nightly.
ensure_cargo_fuzz() {
  if ! cargo fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
  fi
}

# moto's S3 server mode (PyPI `moto[server]`): the S3-compatible server the file-storage tests
# start (crates/store/tests/s3.rs) and the cluster run uses (cqs-bench --cluster).
ensure_moto() {
  if ! python3 -c 'import moto.server' >/dev/null 2>&1; then
    log "installing moto[server]"
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' 2>/dev/null ||
      python3 -m pip install --quiet --disable-pip-version-check --break-system-packages 'moto[server]'
  fi
}

# nginx in front of the cluster run's nodes (cqs-bench --cluster uses deploy/nginx/cqs.conf).
ensure_nginx() {
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || apt_install nginx-light
}

# schemathesis (PyPI) for the API fuzzing run (scripts/api-fuzz.sh), which also calls curl.
ensure_schemathesis() {
  command -v curl >/dev/null 2>&1 || apt_install curl
  if ! python3 -c 'import schemathesis' >/dev/null 2>&1; then
    log "installing schemathesis"
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    python3 -m pip install --quiet --disable-pip-version-check schemathesis 2>/dev/null ||
      python3 -m pip install --quiet --disable-pip-version-check --break-system-packages schemathesis
  fi
}

ensure_browser() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "installing Chromium and Node.js for the browser tests"
    apt-get update -qq
    command -v npm >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
}

ensure_postgres
ensure_document_tools
ensure_nats
ensure_smtp_server
ensure_oidc_provider
ensure_moto
ensure_nginx
trap drop_test_databases EXIT

if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

log "format"
cargo fmt --all -- --check

log "lints"
cargo clippy --workspace --all-targets -- -D warnings

log "build"
cargo build --workspace --all-targets

log "benchmark harness smoke run (SQLite, PostgreSQL)"
target/debug/cqs-bench --cqs target/debug/cqs --backend sqlite --smoke
target/debug/cqs-bench --cqs target/debug/cqs --backend postgres --pg-admin-url "$CQS_TEST_POSTGRES_URL" --smoke

log "crash safety: SIGKILL under load, restart, check every acknowledged request (SQLite, PostgreSQL)"
target/debug/cqs-bench --cqs target/debug/cqs --backend sqlite --crash-rounds 8
target/debug/cqs-bench --cqs target/debug/cqs --backend postgres --pg-admin-url "$CQS_TEST_POSTGRES_URL" --crash-rounds 8

log "cluster: 3 nodes on PostgreSQL, files on S3 (moto), events on NATS, behind nginx; SIGKILL of one"
target/debug/cqs-bench --cqs target/debug/cqs --cluster 3 --pg-admin-url "$CQS_TEST_POSTGRES_URL"

log "exchange gateway smoke: direct, nginx, one node, two nodes federated over mutual TLS"
target/debug/cqs-bench --cqs target/debug/cqs --gateway --smoke

log "soak smoke: the mixed workload at half its peak for 20 s (figures in docs/reliability.md come from 30 min)"
target/debug/cqs-bench --cqs target/debug/cqs --backend sqlite --seconds 3 --concurrency 16 --soak-secs 20 --soak-window-secs 5

log "tests (SQLite and PostgreSQL)"
cargo nextest run --workspace --all-targets --no-fail-fast

log "API fuzzing: schemathesis on every operation as four callers (scripts/api-fuzz.sh)"
ensure_schemathesis
scripts/api-fuzz.sh 25 target/debug/cqs

log "parser fuzzing: every target for 15 s (fuzz/, docs/reliability.md)"
ensure_cargo_fuzz
scripts/fuzz.sh 15

log "browser tests (Playwright with Debian's Chromium, axe-core)"
ensure_browser
(cd tests/e2e && CQS_BIN="$PWD/../../target/debug/cqs" npm test)
