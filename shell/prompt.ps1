# ssoexec prompt for PowerShell: `[aws:PROFILE 42m]` inside a shell or command started by
# ssoexec ($Env:SSOEXEC_PROFILE set), with the minutes left until $Env:SSOEXEC_EXPIRATION, or
# `expired`. Returns nothing outside ssoexec. An optional format wraps it ('%s ' adds a space).
#
# Install: add to $PROFILE
#   . /path/to/prompt.ps1
#   $ssoexecPrompt = $function:prompt
#   function prompt { (ssoexec_prompt '%s ') + (& $ssoexecPrompt) }

function ssoexec_prompt([string] $Format = '%s') {
    if (-not $Env:SSOEXEC_PROFILE) { return '' }
    $tag = $Env:SSOEXEC_PROFILE
    if ($Env:SSOEXEC_EXPIRATION) {
        try {
            # RFC 3339 UTC, e.g. 2026-11-25T19:02:36Z
            $expires = [datetime]::Parse($Env:SSOEXEC_EXPIRATION,
                [Globalization.CultureInfo]::InvariantCulture,
                [Globalization.DateTimeStyles]::AdjustToUniversal)
            $left = [math]::Floor(($expires - [datetime]::UtcNow).TotalMinutes)
            $tag += if (($expires - [datetime]::UtcNow).TotalSeconds -gt 0) { " ${left}m" } else { ' expired' }
        } catch {
            # an unreadable time: show the profile alone
        }
    }
    $Format.Replace('%s', "[aws:$tag]")
}
