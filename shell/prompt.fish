# ssoexec prompt for fish: `[aws:PROFILE 42m]` inside a shell or command started by ssoexec
# (SSOEXEC_PROFILE set), with the minutes left until SSOEXEC_EXPIRATION, or `expired`.
# Prints nothing outside ssoexec. An optional printf format wraps it, as with __git_ps1.
#
# Install: save as ~/.config/fish/functions/ssoexec_prompt.fish, then in fish_prompt:
#   ssoexec_prompt '%s '

function ssoexec_prompt --description 'Show the ssoexec profile and the minutes its credentials have left'
    set -q SSOEXEC_PROFILE[1]; and test -n "$SSOEXEC_PROFILE"; or return 0
    set -l tag $SSOEXEC_PROFILE
    if test -n "$SSOEXEC_EXPIRATION"
        # RFC 3339 UTC (2026-11-25T19:02:36Z): GNU date, else BSD date (macOS).
        set -l expires (date -u -d $SSOEXEC_EXPIRATION +%s 2>/dev/null
            or date -u -j -f %Y-%m-%dT%H:%M:%SZ $SSOEXEC_EXPIRATION +%s 2>/dev/null)
        set -l now (date -u +%s)
        if test -n "$expires"; and test $expires -gt $now
            set tag "$tag "(math --scale 0 "floor(($expires - $now) / 60)")m
        else if test -n "$expires"
            set tag "$tag expired"
        end
    end
    set -l format '%s'
    set -q argv[1]; and set format $argv[1]
    printf $format "[aws:$tag]"
end
