# bash completion for ssoexec: options, subcommands, profile and sso-session names (read from
# the local AWS config by `ssoexec __complete-profiles`, no network), and, for the command to
# run (`ssoexec -p dev -- git che<TAB>`), that command's own completion.
#
# Install: add to ~/.bashrc
#   eval "$(ssoexec completion bash)"
#
# With bash-completion 2 the command to run is completed by its own completion
# (_command_offset); without it, by command names and then file names.

_ssoexec_subcommands="login logout configure list export credential-process doctor console completion agent"
_ssoexec_regions="us-east-1 us-east-2 us-west-1 us-west-2 ca-central-1 sa-east-1 eu-west-1
eu-west-2 eu-west-3 eu-central-1 eu-central-2 eu-north-1 eu-south-1 eu-south-2 ap-south-1
ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-southeast-1 ap-southeast-2 me-central-1
af-south-1 il-central-1"

# Add each argument that starts with $cur to COMPREPLY, quoted for the shell.
_ssoexec_add() {
    local word
    for word; do
        [[ $word == "$cur"* ]] && printf -v word %q "$word" && COMPREPLY+=("$word")
    done
}

# Add the names printed by `ssoexec __complete-profiles "$@"`, one a line.
_ssoexec_add_names() {
    local name names=()
    while IFS= read -r name; do
        names+=("$name")
    done < <(command ssoexec __complete-profiles "$@" 2>/dev/null)
    _ssoexec_add "${names[@]}"
}

# Complete the command to run, whose name is word $1: its name, then its own arguments.
_ssoexec_command() {
    if declare -F _comp_command_offset >/dev/null; then
        _comp_command_offset "$1" # bash-completion 2.12 and later
    elif declare -F _command_offset >/dev/null; then
        _command_offset "$1"
    else
        local IFS=$'\n'
        if ((COMP_CWORD == $1)); then
            COMPREPLY=($(compgen -c -- "$cur"))
        else
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
    fi
}

_ssoexec() {
    local cur=${COMP_WORDS[COMP_CWORD]} opt=${COMP_WORDS[COMP_CWORD - 1]}
    local i=1 sub=""
    COMPREPLY=()
    # Skip the root options and their values to find the subcommand or the command to run.
    # COMP_WORDS splits --profile=dev into three words: --profile, =, dev.
    while ((i < COMP_CWORD)); do
        case ${COMP_WORDS[i]} in
        --)
            _ssoexec_command $((i + 1))
            return
            ;;
        -p | --profile | --region | --login | --sso-session | --account | --role)
            [[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))
            ((i += 2))
            ;;
        -*) ((i++)) ;;
        *)
            [[ " $_ssoexec_subcommands " == *" ${COMP_WORDS[i]} "* ]] || {
                _ssoexec_command "$i"
                return
            }
            sub=${COMP_WORDS[i]}
            break
            ;;
        esac
    done

    # The value of an option: after `--opt value` or `--opt=value`.
    [[ $cur == = ]] && cur="" && opt=${COMP_WORDS[COMP_CWORD - 1]}
    [[ $opt == = ]] && opt=${COMP_WORDS[COMP_CWORD - 2]}
    case $opt in
    -p | --profile) _ssoexec_add_names ;;
    --sso-session) _ssoexec_add_names --sso-sessions ;;
    --region | --sso-region) _ssoexec_add $_ssoexec_regions ;;
    --login) _ssoexec_add auto never ;;
    --format) _ssoexec_add sh fish powershell json dotenv ;;
    --start-url | --profile-template | --account | --role | --destination | --duration) ;;
    --service) _ssoexec_add s3 ec2 lambda cloudformation cloudwatch iam dynamodb ecs eks rds ;;
    *) opt="" ;;
    esac
    [[ -n $opt ]] && return

    local opts="-h --help"
    case $sub in
    "")
        opts+=" -p --profile --region --login --server --debug --version"
        opts+=" --sso-session --account --role"
        if [[ $cur != -* ]]; then
            # ssoexec <TAB> lists the subcommands; ssoexec ter<TAB> also finds terraform.
            [[ -n $cur ]] && _ssoexec_command "$COMP_CWORD"
            _ssoexec_add $_ssoexec_subcommands
            return
        fi
        ;;
    login) opts+=" -p --profile --sso-session --device-code --no-browser" ;;
    logout) opts+=" -p --profile --sso-session --all" ;;
    configure)
        opts+=" --start-url --sso-region --sso-session --region --profile-template --dry-run"
        opts+=" --update --prune"
        ;;
    list) opts+=" --json --portal --sso-session" ;;
    export) opts+=" -p --profile --format --sso-session --account --role" ;;
    credential-process) opts+=" -p --profile --sso-session --account --role" ;;
    doctor) opts+=" -p --profile" ;;
    console) opts+=" -p --profile --region --service --destination --print --portal --duration --sso-session --account --role" ;;
    completion)
        if [[ $cur != -* ]]; then
            _ssoexec_add bash zsh fish powershell
            return
        fi
        ;;
    agent)
        if [[ $cur != -* ]]; then
            _ssoexec_add start stop status
            return
        fi
        ;;
    esac
    _ssoexec_add $opts
}

complete -F _ssoexec ssoexec
