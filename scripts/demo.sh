#!/usr/bin/env bash
# `make demo`: ssoexec end to end against the bundled AWS emulator, in a scratch HOME.
# No AWS account, no network: the emulator listens on 127.0.0.1 and ssoexec reaches it
# through the standard AWS_ENDPOINT_URL_* variables, exactly as it would reach AWS.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
emulator_pid=""
cleanup() {
  if [ -n "$emulator_pid" ]; then
    kill "$emulator_pid" 2>/dev/null || true
    wait "$emulator_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

# 1. The emulator of AWS SSO, SSO-OIDC and STS.
start_url=https://d-demo000001.awsapps.com/start
(cd "$repo" && exec python -m tests.emulator --port-file "$scratch/url") &
emulator_pid=$!
for _ in $(seq 100); do [ -s "$scratch/url" ] && break; sleep 0.1; done
url=$(cat "$scratch/url")

# 2. A scratch HOME with an ordinary AWS config: one sso-session, one profile.
export HOME="$scratch/home"
export AWS_ENDPOINT_URL_SSO="$url" AWS_ENDPOINT_URL_SSO_OIDC="$url" AWS_ENDPOINT_URL_STS="$url" \
  AWS_ENDPOINT_URL_SIGNIN="$url"
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
  AWS_SECURITY_TOKEN AWS_REGION AWS_DEFAULT_REGION AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
mkdir -p "$HOME/.aws"
cat > "$HOME/.aws/config" <<EOF
[sso-session demo]
sso_start_url = $start_url
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile demo]
sso_session = demo
sso_account_id = 111111111111
sso_role_name = Admin
region = eu-west-1
EOF
step cat ~/.aws/config
cat "$HOME/.aws/config"

# 3. Sign in. The "browser" is a script that opens the link and follows the redirect back to
#    ssoexec, as a person clicking "Allow" would (the emulator approves every request).
printf '#!/bin/sh\nexec python "%s/tests/browser.py" "$@"\n' "$repo" > "$scratch/browser"
chmod +x "$scratch/browser"
export BROWSER="$scratch/browser" BROWSER_LOG="$scratch/browser.log"
step ssoexec login -p demo
ssoexec login -p demo
step "ls ~/.aws/sso/cache"
ls "$HOME/.aws/sso/cache"

# 4. Any command, with the role's credentials in its environment only.
whoami_py='import boto3; print("caller:", boto3.client("sts").get_caller_identity()["Arn"])'
step "ssoexec -p demo -- python -c '$whoami_py'"
ssoexec -p demo -- python -c "$whoami_py"

contract='^(AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|CREDENTIAL_EXPIRATION|REGION|DEFAULT_REGION|PROFILE)|SSOEXEC_[A-Z]+)='
step "AWS_PROFILE=other ssoexec -p demo -- env | grep -E '$contract' | sort"
AWS_PROFILE=other ssoexec -p demo -- env | grep -E "$contract" | sort \
  | sed -E 's/^(AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN)=.*(.{4})$/\1=****\2  (redacted here)/'

# 5. The AWS console as the role: --print writes the sign-in URL (a credential for 15 minutes)
#    instead of handing the browser a one-time link to it; open it as a browser would.
step "ssoexec console -p demo --print"
console_url=$(ssoexec console -p demo --print)
printf '%s\n' "$console_url" | sed -E 's/(SigninToken=).*(.{4})$/\1****\2  (redacted here)/'
step "python3 - \"\$console_url\"  # open it as a browser would; print the page's role line"
python - "$console_url" <<'EOF'
import re, sys, urllib.request
page = urllib.request.urlopen(sys.argv[1], timeout=30).read().decode()
print(re.search(r"<p>(Role: [^<]*)</p>", page).group(1))
EOF

step "ssoexec -p demo -- sh -c 'exit 3'; echo \"exit status \$?\""
set +e
ssoexec -p demo -- sh -c 'exit 3'
echo "exit status $?"
set -e

step "ssoexec -p nosuch -- true"
set +e
ssoexec -p nosuch -- true
echo "exit status $?"
set -e

step "ls ~/.aws"
ls "$HOME/.aws"
if [ -e "$HOME/.aws/credentials" ]; then
  echo "FAIL: ~/.aws/credentials was written" >&2
  exit 1
fi
echo
echo "demo ok: the command got role credentials; nothing wrote ~/.aws/credentials."
