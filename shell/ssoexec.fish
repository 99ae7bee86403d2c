# fish completion for ssoexec: options, subcommands, profile and sso-session names (read from
# the local AWS config by `ssoexec __complete-profiles`, no network), and, for the command to
# run (`ssoexec -p dev -- git che<TAB>`), that command's own completion.
#
# Install:
#   ssoexec completion fish > ~/.config/fish/completions/ssoexec.fish

# Where the word being completed stands: "root" (options, then a subcommand or a command),
# the subcommand's name, or "command N" when the command to run is token N of the line.
function __ssoexec_context
    set -l tokens (commandline -opc)
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --
                printf '%s\n' command (math $i + 1)
                return
            case -p --profile --region --login --sso-session --account --role
                set i (math $i + 2)
            case '-*'
                set i (math $i + 1)
            case login logout configure list export credential-process doctor console completion agent
                echo $tokens[$i]
                return
            case '*'
                printf '%s\n' command $i
                return
        end
    end
    echo root
end

# True when the word being completed is in one of the given contexts.
function __ssoexec_in
    set -l context (__ssoexec_context)
    contains -- $context[1] $argv
end

# The completions of the command to run, as its own completion gives them.
function __ssoexec_complete_command
    set -l tokens (commandline -opc)
    set -l start (__ssoexec_context)[2]
    set -l current (commandline -ct)
    if test -z "$start" # at the root, the word being completed may name the command
        string match -q -- '-*' "$current"; and return
        set start (math (count $tokens) + 1)
    end
    set -l words
    test $start -le (count $tokens); and set words (string escape -- $tokens[$start..-1])
    set -l line (string join ' ' -- $words "$current")
    complete --do-complete="$line"
end

function __ssoexec_regions
    printf '%s\n' us-east-1 us-east-2 us-west-1 us-west-2 ca-central-1 sa-east-1 eu-west-1 \
        eu-west-2 eu-west-3 eu-central-1 eu-central-2 eu-north-1 eu-south-1 eu-south-2 ap-south-1 \
        ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-southeast-1 ap-southeast-2 me-central-1 \
        af-south-1 il-central-1
end

complete -c ssoexec -f

# Root options, before the subcommand or the command to run.
set -l root '__ssoexec_in root'
complete -c ssoexec -n $root -s p -l profile -x -a '(ssoexec __complete-profiles 2>/dev/null)' -d 'AWS config profile'
complete -c ssoexec -n $root -l region -x -a '(__ssoexec_regions)' -d 'Region the command sees'
complete -c ssoexec -n $root -l login -x -a 'auto never' -d 'Log in when the token is missing or expired'
complete -c ssoexec -n $root -l server -d 'Serve fresh credentials to a long-running command'
complete -c ssoexec -n $root -l debug -d 'Diagnostics on stderr, secrets redacted'
complete -c ssoexec -n $root -l version -d 'Show the version'
complete -c ssoexec -n 'not __ssoexec_in command' -s h -l help -d 'Show help'

# Subcommands, and commands to run.
complete -c ssoexec -n $root -a login -d 'Sign in to the SSO portal'
complete -c ssoexec -n $root -a logout -d 'Sign out and remove the cached token'
complete -c ssoexec -n $root -a configure -d 'Write a profile for every account and role'
complete -c ssoexec -n $root -a list -d 'List profiles and their token state'
complete -c ssoexec -n $root -a export -d 'Print the credentials as shell, JSON or dotenv'
complete -c ssoexec -n $root -a credential-process -d 'Print credentials for credential_process'
complete -c ssoexec -n $root -a doctor -d 'Explain what the command will see'
complete -c ssoexec -n $root -a console -d 'Open the AWS console as the role'
complete -c ssoexec -n $root -a completion -d 'Print a shell completion script'
complete -c ssoexec -n $root -a agent -d 'Start, stop or ask the credentials agent'
complete -c ssoexec -n '__ssoexec_in root command' -a '(__ssoexec_complete_command)'

# Subcommand options.
complete -c ssoexec -n '__ssoexec_in login logout export credential-process doctor console' -s p -l profile -x -a '(ssoexec __complete-profiles 2>/dev/null)' -d 'AWS config profile'
complete -c ssoexec -n '__ssoexec_in root login logout configure list export credential-process console' -l sso-session -x -a '(ssoexec __complete-profiles --sso-sessions 2>/dev/null)' -d 'SSO session'
complete -c ssoexec -n '__ssoexec_in root export credential-process console' -l account -x -d 'Account id, without a profile'
complete -c ssoexec -n '__ssoexec_in root export credential-process console' -l role -x -d 'Role in --account, without a profile'
complete -c ssoexec -n '__ssoexec_in login' -l device-code -d 'Use the device code flow'
complete -c ssoexec -n '__ssoexec_in login' -l no-browser -d 'Print the URL instead of opening a browser'
complete -c ssoexec -n '__ssoexec_in logout' -l all -d 'Sign out of every SSO session'
complete -c ssoexec -n '__ssoexec_in configure' -l start-url -x -d 'SSO start URL'
complete -c ssoexec -n '__ssoexec_in configure' -l sso-region -x -a '(__ssoexec_regions)' -d 'Region of the SSO portal'
complete -c ssoexec -n '__ssoexec_in configure' -l region -x -a '(__ssoexec_regions)' -d 'Default region of the new profiles'
complete -c ssoexec -n '__ssoexec_in configure' -l profile-template -x -d 'How to name each profile'
complete -c ssoexec -n '__ssoexec_in configure' -l dry-run -d 'Print what would be written'
complete -c ssoexec -n '__ssoexec_in configure' -l update -d 'Update the profiles written before'
complete -c ssoexec -n '__ssoexec_in configure' -l prune -d 'Remove the profiles written before whose role is gone'
complete -c ssoexec -n '__ssoexec_in list' -l json -d 'JSON output'
complete -c ssoexec -n '__ssoexec_in list' -l portal -d 'What the portal offers'
complete -c ssoexec -n '__ssoexec_in export' -l format -x -a 'sh fish powershell json dotenv' -d 'Output format'
complete -c ssoexec -n '__ssoexec_in console' -l region -x -a '(__ssoexec_regions)' -d 'Region of the console page'
complete -c ssoexec -n '__ssoexec_in console' -l service -x -a 's3 ec2 lambda cloudformation cloudwatch iam dynamodb ecs eks rds' -d 'Open this service'
complete -c ssoexec -n '__ssoexec_in console' -l destination -x -d 'Open this console URL'
complete -c ssoexec -n '__ssoexec_in console' -l print -d 'Print the URL instead of opening a browser'
complete -c ssoexec -n '__ssoexec_in console' -l portal -d 'Open the Identity Center shortcut link'
complete -c ssoexec -n '__ssoexec_in console' -l duration -x -d 'Console session length, 15m to 12h'
complete -c ssoexec -n '__ssoexec_in completion' -x -a 'bash zsh fish powershell'
complete -c ssoexec -n '__ssoexec_in agent' -x -a 'start stop status'
