# PowerShell completion for ssoexec: options, subcommands, profile and sso-session names (read
# from the local AWS config by `ssoexec __complete-profiles`, no network), and, for the command
# to run (`ssoexec -p dev -- git che<TAB>`), that command's own completion (TabExpansion2).
#
# Install: add to $PROFILE
#   ssoexec completion powershell | Out-String | Invoke-Expression

Register-ArgumentCompleter -Native -CommandName 'ssoexec', 'ssoexec.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $subcommands = [ordered]@{
        'login'              = 'Sign in to the SSO portal'
        'logout'             = 'Sign out and remove the cached token'
        'configure'          = 'Write a profile for every account and role'
        'list'               = 'List profiles and their token state'
        'export'             = 'Print the credentials as shell, JSON or dotenv'
        'credential-process' = 'Print credentials for credential_process'
        'doctor'             = 'Explain what the command will see'
        'console'            = 'Open the AWS console as the role'
        'completion'         = 'Print a shell completion script'
        'agent'              = 'Start, stop or ask the credentials agent'
    }
    $options = @{
        ''                   = '-p', '--profile', '--region', '--login', '--server', '--debug', '--version',
                               '--sso-session', '--account', '--role'
        'login'              = '-p', '--profile', '--sso-session', '--device-code', '--no-browser'
        'logout'             = '-p', '--profile', '--sso-session', '--all'
        'configure'          = '--start-url', '--sso-region', '--sso-session', '--region',
                               '--profile-template', '--dry-run', '--update', '--prune'
        'list'               = '--json', '--portal', '--sso-session'
        'export'             = '-p', '--profile', '--format', '--sso-session', '--account', '--role'
        'credential-process' = '-p', '--profile', '--sso-session', '--account', '--role'
        'doctor'             = '-p', '--profile'
        'console'            = '-p', '--profile', '--region', '--service', '--destination',
                               '--print', '--portal', '--duration', '--sso-session', '--account',
                               '--role'
        'completion'         = @()
        'agent'              = @()
    }
    $regions = 'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'sa-east-1',
        'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-central-2', 'eu-north-1',
        'eu-south-1', 'eu-south-2', 'ap-south-1', 'ap-northeast-1', 'ap-northeast-2',
        'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2', 'me-central-1', 'af-south-1',
        'il-central-1'

    # The values an option takes (the comma keeps an empty list a list), or $null for a flag.
    function Get-OptionValues([string] $option) {
        switch ($option) {
            { $_ -in '-p', '--profile' } { return , @(ssoexec __complete-profiles 2>$null) }
            '--sso-session' { return , @(ssoexec __complete-profiles --sso-sessions 2>$null) }
            { $_ -in '--region', '--sso-region' } { return , $regions }
            '--login' { return , @('auto', 'never') }
            '--format' { return , @('sh', 'fish', 'powershell', 'json', 'dotenv') }
            { $_ -in '--start-url', '--profile-template', '--account', '--role', '--destination', '--duration' } { return , @() }
            '--service' { return , @('s3', 'ec2', 'lambda', 'cloudformation', 'cloudwatch', 'iam') }
        }
        return $null
    }

    function New-Result([string] $text, [string] $type, [string] $tip) {
        $quoted = if ($text -match '[\s''"`$;,(){}@|&<>#]') { "'" + $text.Replace("'", "''") + "'" } else { $text }
        [System.Management.Automation.CompletionResult]::new($quoted, $text, $type, $tip)
    }

    # The words before the one being completed, as typed (the first is ssoexec itself).
    $words = @($commandAst.CommandElements | Where-Object { $_.Extent.EndOffset -lt $cursorPosition })

    # Skip the root options and their values to find the subcommand or the command to run.
    $sub = ''
    $commandStart = -1
    for ($i = 1; $i -lt $words.Count; $i++) {
        $text = $words[$i].Extent.Text
        if ($text -eq '--') { $commandStart = $i + 1; break }
        if ($text -in '-p', '--profile', '--region', '--login', '--sso-session', '--account', '--role') { $i++; continue }
        if ($text.StartsWith('-')) { continue }
        if ($subcommands.Contains($text)) { $sub = $text; break }
        $commandStart = $i; break
    }

    # The command to run: hand the rest of the line to its own completion.
    if ($commandStart -ge 0) {
        $start = $cursorPosition - $wordToComplete.Length
        if ($commandStart -lt $words.Count) { $start = $words[$commandStart].Extent.StartOffset }
        $line = $commandAst.Extent.StartScriptPosition.GetFullScript().Substring($start, $cursorPosition - $start)
        return (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
    }

    # The value of an option: `--opt value` or `--opt=value`.
    $prefix = ''
    $word = $wordToComplete
    $values = $null
    if ($wordToComplete -match '^(--[a-z-]+)=(.*)$') {
        $prefix = $Matches[1] + '='
        $word = $Matches[2]
        $values = Get-OptionValues $Matches[1]
    } elseif ($words.Count -gt 1) {
        $values = Get-OptionValues $words[-1].Extent.Text
    }
    if ($null -ne $values) {
        return $values | Where-Object { $_ -like "$word*" } | ForEach-Object {
            New-Result ($prefix + $_) 'ParameterValue' $_
        }
    }

    if ($sub -eq 'completion' -and -not $word.StartsWith('-')) {
        return 'bash', 'zsh', 'fish', 'powershell' | Where-Object { $_ -like "$word*" } |
            ForEach-Object { New-Result $_ 'ParameterValue' $_ }
    }
    if ($sub -eq 'agent' -and -not $word.StartsWith('-')) {
        return 'start', 'stop', 'status' | Where-Object { $_ -like "$word*" } |
            ForEach-Object { New-Result $_ 'ParameterValue' $_ }
    }
    if ($sub -eq '' -and -not $word.StartsWith('-')) {
        # A subcommand, or the name of a command to run.
        $subcommands.Keys | Where-Object { $_ -like "$word*" } |
            ForEach-Object { New-Result $_ 'Command' $subcommands[$_] }
        if ($word) {
            Get-Command -CommandType Application -Name "$word*" -ErrorAction Ignore |
                Select-Object -ExpandProperty Name -Unique |
                ForEach-Object { New-Result $_ 'Command' $_ }
        }
        return
    }
    @($options[$sub]) + '-h', '--help' | Where-Object { $_ -like "$word*" } |
        ForEach-Object { New-Result $_ 'ParameterName' $_ }
}
