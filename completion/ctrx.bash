# bash completion for ctrx, containerd's ctr with Docker-style names, hosts.toml
# mirrors and namespaces. Installed as share/bash-completion/completions/ctrx;
# it can also be sourced directly. It needs nothing from the bash-completion
# package.
#
# Namespaces and image names are asked of containerd only when its socket
# exists, with a short connect timeout, and errors are swallowed: completion
# never hangs on a daemon that is down.

# ctrx's global flags, those that take a value and those that do not.
_ctrx_global_value='-a --address -n --namespace --timeout --connect-timeout --hosts-dir'
_ctrx_global_bool='--k8s --debug --no-expand -h --help -v --version'

# Commands: ctrx's own, then ctr's (handed to ctr).
_ctrx_commands='pull run ref login logout hosts version images containers content events leases
namespaces plugins pprof snapshots tasks install oci shim help'

_ctrx_pull_value='--platform --snapshotter --label --max-concurrent-downloads -u --user
--hosts-dir --mirror-connect-timeout --mirror-first-byte-timeout --mirror-stall-timeout --no-spread'
_ctrx_pull_bool='--plain-http -k --skip-verify --print-chainid --dry-run -q --quiet --help'

_ctrx_run_value='--env --env-file --mount --cwd --label --annotation --snapshotter --runtime
--cpus --memory-limit --cap-add --cap-drop --hostname -u --user --pid-file --platform'
_ctrx_run_bool='--rm -d --detach -t --tty --net-host --privileged --read-only --null-io --help'

_ctrx_hosts_add_value='--capabilities --ca'
_ctrx_hosts_add_bool='--skip-verify --override-path --help'

_ctrx_caps='CAP_AUDIT_CONTROL CAP_AUDIT_READ CAP_AUDIT_WRITE CAP_BLOCK_SUSPEND CAP_BPF
CAP_CHECKPOINT_RESTORE CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID
CAP_IPC_LOCK CAP_IPC_OWNER CAP_KILL CAP_LEASE CAP_LINUX_IMMUTABLE CAP_MAC_ADMIN
CAP_MAC_OVERRIDE CAP_MKNOD CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_RAW
CAP_PERFMON CAP_SETFCAP CAP_SETGID CAP_SETPCAP CAP_SETUID CAP_SYSLOG CAP_SYS_ADMIN
CAP_SYS_BOOT CAP_SYS_CHROOT CAP_SYS_MODULE CAP_SYS_NICE CAP_SYS_PACCT CAP_SYS_PTRACE
CAP_SYS_RAWIO CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_WAKE_ALARM'
_ctrx_platforms='linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6 linux/386 linux/ppc64le
linux/s390x linux/riscv64'
_ctrx_snapshotters='overlayfs native btrfs zfs devmapper'

# Sub-commands of the command groups (ctrx's for hosts and images pull, ctr's
# for the rest).
_ctrx_subcommands() {
  case $1 in
  images | image | i)
    echo 'check export import list ls mount unmount pull push delete del remove rm tag label convert' ;;
  hosts) echo 'add check' ;;
  containers | container | c)
    echo 'create delete del remove rm info list ls label checkpoint restore' ;;
  tasks | task | t)
    echo 'attach checkpoint delete del remove rm exec list ls kill pause ps resume start metrics' ;;
  namespaces | namespace | ns) echo 'create list ls remove rm label' ;;
  snapshots | snapshot)
    echo 'commit diff info list ls mounts mount prepare delete del remove rm label tree unpack usage view' ;;
  content)
    echo 'active delete del remove rm edit fetch fetch-object get ingest list ls push-object label prune' ;;
  leases) echo 'list ls create delete del remove rm' ;;
  plugins | plugin) echo 'list ls' ;;
  esac
}

# Ask ctrx (and so ctr) something of containerd: only when the socket is there,
# quickly, and silently.
_ctrx_ask() {
  local addr=${_ctrx_addr:-${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}}
  local -a argv=("$_ctrx_bin" -a "$addr" --connect-timeout 1s)
  [[ -S $addr ]] || return 0
  [[ -n $_ctrx_ns ]] && argv+=(-n "$_ctrx_ns")
  if command -v timeout >/dev/null 2>&1; then
    timeout 3 "${argv[@]}" "$@" 2>/dev/null
  else
    "${argv[@]}" "$@" 2>/dev/null
  fi
}

# Registries that have a host directory in the hosts directories.
_ctrx_registries() {
  local d f
  local -a dirs=("${_ctrx_hosts_dirs[@]}")
  ((${#dirs[@]})) || dirs=(/etc/containerd/certs.d /etc/docker/certs.d)
  for d in "${dirs[@]}"; do
    for f in "$d"/*/; do
      [[ -d $f ]] || continue
      f=${f%/}
      f=${f##*/}
      [[ $f == _default ]] && continue
      # host_port_ is how a registry with a port is spelled on disk
      [[ $f =~ ^(.*)_([0-9]+)_$ ]] && f="${BASH_REMATCH[1]}:${BASH_REMATCH[2]}"
      echo "$f"
    done
  done
}

# COMPREPLY from a word list; $cur is the word being completed.
_ctrx_words() {
  mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -W "$1" -- "$cur")
}

_ctrx_files() {
  compopt -o filenames 2>/dev/null
  mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -f -- "$cur")
}

_ctrx_dirs() {
  compopt -o filenames 2>/dev/null
  mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -d -- "$cur")
}

# The value of a flag ($1), for any command.
_ctrx_value() {
  case $1 in
  -n | --namespace | -namespace) _ctrx_words "$(_ctrx_ask namespaces ls -q)" ;;
  -a | --address | -address | --env-file | -env-file | --pid-file | -pid-file | --ca | -ca)
    _ctrx_files ;;
  --hosts-dir | -hosts-dir | --cwd | -cwd) _ctrx_dirs ;;
  --platform | -platform) _ctrx_words "$_ctrx_platforms" ;;
  --snapshotter | -snapshotter) _ctrx_words "$_ctrx_snapshotters" ;;
  --cap-add | -cap-add | --cap-drop | -cap-drop) _ctrx_words "$_ctrx_caps" ;;
  --runtime | -runtime) _ctrx_words 'io.containerd.runc.v2 io.containerd.runsc.v1' ;;
  --capabilities | -capabilities)
    # a comma-separated list: complete its last element
    local pre=${cur%"${cur##*,}"} c out=
    for c in pull resolve push referrers; do
      [[ ,$pre == *,$c,* ]] || out+="$pre$c "
    done
    _ctrx_words "$out"
    compopt -o nospace 2>/dev/null
    ;;
  esac
}

# Is $1 a flag that takes a value, in the flag lists $2?
_ctrx_takes_value() {
  local f
  for f in $2; do
    [[ $1 == "$f" || $1 == "-${f#--}" ]] && return 0
  done
  return 1
}

_ctrx() {
  local cur line cmd='' sub='' i w
  local -a words
  local _ctrx_bin _ctrx_addr='' _ctrx_ns=''
  local -a _ctrx_hosts_dirs=()
  COMPREPLY=()

  # Words split on blanks only, so that "nginx:al" and "--flag=v" stay whole
  # whatever COMP_WORDBREAKS says; the result is trimmed back at the end.
  line=${COMP_LINE:0:COMP_POINT}
  read -ra words <<<"$line"
  [[ $line =~ [[:space:]]$ || ${#words[@]} -eq 0 ]] && words+=("")
  cur=${words[${#words[@]} - 1]}
  _ctrx_bin=${words[0]:-ctrx}
  [[ $_ctrx_bin == */* ]] || _ctrx_bin=$(type -P "$_ctrx_bin" || echo ctrx)

  # Global flags, up to the command.
  for ((i = 1; i < ${#words[@]} - 1; i++)); do
    w=${words[i]}
    case $w in
    -a | --address | -address) _ctrx_addr=${words[i + 1]}; ((i++)) ;;
    --address=* | -address=*) _ctrx_addr=${w#*=} ;;
    -n | --namespace | -namespace) _ctrx_ns=${words[i + 1]}; ((i++)) ;;
    --namespace=* | -namespace=* | -n=*) _ctrx_ns=${w#*=} ;;
    --k8s | -k8s) _ctrx_ns=k8s.io ;;
    --hosts-dir | -hosts-dir) _ctrx_hosts_dirs+=("${words[i + 1]}"); ((i++)) ;;
    --hosts-dir=* | -hosts-dir=*) _ctrx_hosts_dirs+=("${w#*=}") ;;
    --timeout | -timeout | --connect-timeout | -connect-timeout) ((i++)) ;;
    -*) ;;
    *) cmd=$w; break ;;
    esac
  done
  [[ ${_ctrx_addr:0:7} == unix:// ]] && _ctrx_addr=${_ctrx_addr:7}

  local prev=${words[${#words[@]} - 2]}
  if [[ -z $cmd ]]; then
    if [[ $cur == -*=* ]]; then
      local flag=${cur%%=*}
      cur=${cur#*=}
      _ctrx_value "$flag"
    elif _ctrx_takes_value "$prev" "$_ctrx_global_value"; then
      _ctrx_value "$prev"
    elif [[ $cur == -* ]]; then
      _ctrx_words "$_ctrx_global_value $_ctrx_global_bool"
    else
      _ctrx_words "$_ctrx_commands"
    fi
    _ctrx_trim
    return 0
  fi

  # The command's words after its name: sub-command, flags, positionals.
  local start=$((i + 1)) group=$cmd
  case $cmd in
  images | image | i | hosts | containers | container | c | tasks | task | t | namespaces | \
    namespace | ns | snapshots | snapshot | content | leases | plugins | plugin)
    if ((start >= ${#words[@]} - 1)); then
      if [[ $cur == -* ]]; then
        _ctrx_words '--help'
      else
        _ctrx_words "$(_ctrx_subcommands "$cmd")"
        # `ctrx hosts REGISTRY` itself
        [[ $cmd == hosts ]] && _ctrx_words "$(_ctrx_registries)"
      fi
      _ctrx_trim
      return 0
    fi
    sub=${words[start]}
    ((start++))
    ;;
  esac

  local value_flags='' bool_flags='' what=''
  case $group:$sub in
  pull: | images:pull | image:pull | i:pull)
    value_flags=$_ctrx_pull_value bool_flags=$_ctrx_pull_bool what=images ;;
  run:) value_flags=$_ctrx_run_value bool_flags=$_ctrx_run_bool what=run ;;
  ref:) bool_flags='--familiar --help' what=images ;;
  help:) what=commands ;;
  hosts:add) value_flags=$_ctrx_hosts_add_value bool_flags=$_ctrx_hosts_add_bool what=registry ;;
  hosts:check) value_flags='' bool_flags='--json --plain-http --skip-verify --help' what=registry ;;
  hosts:*) what=none ;;
  login:) value_flags='-u --username -p --password' bool_flags='--password-stdin --help'
    what=registry ;;
  logout:) bool_flags='--help' what=registry ;;
  images:* | image:* | i:*)
    case $sub in
    rm | remove | del | delete | tag | push | label | mount | check | convert | export) what=images ;;
    import) what=files ;;
    esac
    ;;
  namespaces:* | namespace:* | ns:*)
    case $sub in
    rm | remove | label) what=namespaces ;;
    esac
    ;;
  esac

  # Positionals so far, skipping flags and their values.
  local npos=0
  for ((i = start; i < ${#words[@]} - 1; i++)); do
    w=${words[i]}
    if [[ $w == -* ]]; then
      [[ $w == *=* ]] && continue
      _ctrx_takes_value "$w" "$value_flags" && ((i++))
      continue
    fi
    ((npos++))
  done

  if [[ $cur == -*=* ]] && _ctrx_takes_value "${cur%%=*}" "$value_flags"; then
    local flag=${cur%%=*}
    cur=${cur#*=}
    _ctrx_value "$flag"
  elif ((${#words[@]} - 2 >= start)) && _ctrx_takes_value "$prev" "$value_flags"; then
    _ctrx_value "$prev"
  elif [[ $cur == -* ]]; then
    _ctrx_words "$value_flags $bool_flags"
    [[ -z $value_flags$bool_flags ]] && _ctrx_words '--help'
  else
    case $what in
    images) _ctrx_words "$(_ctrx_ask images ls -q)" ;;
    # run IMAGE ID [COMMAND...]: only the image is known here
    run) ((npos == 0)) && _ctrx_words "$(_ctrx_ask images ls -q)" ;;
    registry) ((npos == 0)) && _ctrx_words "$(_ctrx_registries)" ;;
    namespaces) _ctrx_words "$(_ctrx_ask namespaces ls -q)" ;;
    commands) ((npos == 0)) && _ctrx_words "$_ctrx_commands" ;;
    files) _ctrx_files ;;
    esac
  fi
  _ctrx_trim
}

# bash replaces only the part of the word after its last COMP_WORDBREAKS
# character (usually ":" or "="), so each candidate is cut to that part. When
# a "--flag=value" is completed, $cur holds the value and the candidates are
# values: the flag and "=" are put back before cutting.
_ctrx_trim() {
  local full=${COMP_LINE:0:COMP_POINT} pre s i off
  full=${full##*[[:space:]]}
  pre=${full%"${full##*["$COMP_WORDBREAKS"]}"}
  off=$((${#full} - ${#cur}))
  ((${#pre} == 0 && off == 0)) && return 0
  for i in "${!COMPREPLY[@]}"; do
    s=${full:0:off}${COMPREPLY[i]}
    COMPREPLY[i]=${s:${#pre}}
  done
}

complete -F _ctrx ctrx
