# ssoexec prompt for bash: `[aws:PROFILE 42m]` inside a shell or command started by ssoexec
# (SSOEXEC_PROFILE set), with the minutes left until SSOEXEC_EXPIRATION, or `expired`.
# Prints nothing outside ssoexec. An optional printf format wraps it, as with __git_ps1.
#
# Install: add to ~/.bashrc
#   source /path/to/prompt.bash
#   PS1='$(ssoexec_prompt "%s ")'$PS1

ssoexec_prompt() {
    [[ -n ${SSOEXEC_PROFILE-} ]] || return 0
    local tag=$SSOEXEC_PROFILE expires now
    if [[ -n ${SSOEXEC_EXPIRATION-} ]]; then
        # RFC 3339 UTC (2026-11-25T19:02:36Z): GNU date, else BSD date (macOS).
        expires=$(date -u -d "$SSOEXEC_EXPIRATION" +%s 2>/dev/null ||
            date -u -j -f %Y-%m-%dT%H:%M:%SZ "$SSOEXEC_EXPIRATION" +%s 2>/dev/null)
        now=${EPOCHSECONDS:-$(date -u +%s)}
        if [[ -n $expires ]] && ((expires > now)); then
            tag+=" $(((expires - now) / 60))m"
        elif [[ -n $expires ]]; then
            tag+=" expired"
        fi
    fi
    # shellcheck disable=SC2059 # the format is the caller's
    printf -- "${1:-%s}" "[aws:$tag]"
}
