#!/bin/sh
# Creates docker/secrets/ for compose.yaml: random Django key, PostgreSQL password, the
# DATABASE_URL built from it, a metrics token, the tax-form and KYC-file encryption keys; an
# empty SMTP password file to fill in.
# Existing files are kept (re-running never rotates a secret by accident).
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
chmod 700 secrets

new() {  # new <name> <command producing the value>
  name="$1"; shift
  if [ -s "secrets/$name" ] || { [ "$name" = email_password ] && [ -e "secrets/$name" ]; }; then
    echo "kept    secrets/$name"
  else
    "$@" > "secrets/$name"
    echo "created secrets/$name"
  fi
}
rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

new django_secret_key sh -c "printf '%s\n' \"$(rand_hex 48)\""
new postgres_password sh -c "printf '%s\n' \"$(rand_hex 24)\""
# Hex passwords need no URL escaping.
new database_url sh -c "printf 'postgres://swipeme:%s@postgres:5432/swipeme\n' \"\$(cat secrets/postgres_password)\""
new metrics_token sh -c "printf '%s\n' \"$(rand_hex 24)\""
new email_password true
# Fernet keys (32 random bytes, URL-safe base64) for tax forms and KYC files: production
# refuses to seal either without its own key. Rotation: put a new key first, comma-separated,
# then run manage.py rotate_tax_form_keys / rotate_kyc_file_keys.
new tax_form_keys sh -c "printf '%s\n' \"\$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')\""
new kyc_file_keys sh -c "printf '%s\n' \"\$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')\""

# The containers run as uid 10001 (app) and 999 (postgres); compose bind-mounts these files
# with their host mode. The directory stays private to you; the files are world-readable
# inside it so that the container users can read them.
chmod 444 secrets/*
echo "done: edit secrets/email_password with your SMTP password (chmod u+w first)"
