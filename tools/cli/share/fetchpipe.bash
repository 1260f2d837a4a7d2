# bash completion for fetchpipe. Commands and flags are read from the tool's own --help texts
# when completing, so they are always those of the installed version.

_fetchpipe_commands() {
  "$1" --help 2>/dev/null | sed -n 's/^  fetchpipe \([a-z][a-z-]*\).*/\1/p' | sort -u
}

_fetchpipe_flags() {
  "$1" "$2" --help 2>/dev/null | grep -oE -- '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[ ,]//' | sort -u
}

_fetchpipe() {
  local cur prev tool command i
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  tool=${COMP_WORDS[0]}
  command=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -*) ;;
      *) command=${COMP_WORDS[i]}; break ;;
    esac
  done

  if [[ -z $command ]]; then
    COMPREPLY=($(compgen -W "$(_fetchpipe_commands "$tool") --help --version" -- "$cur"))
    return
  fi

  # Values of the flags that take a known set, or a file.
  case $prev in
    --transport) COMPREPLY=($(compgen -W "curl httplib" -- "$cur")); return ;;
    --jitter) COMPREPLY=($(compgen -W "none full equal decorrelated" -- "$cur")); return ;;
    -X|--method) COMPREPLY=($(compgen -W "GET HEAD POST PUT PATCH DELETE OPTIONS" -- "$cur")); return ;;
    -o|--output|--cacert|-i|--input) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -d|--data)
      if [[ $cur == @* ]]; then COMPREPLY=($(compgen -f -P @ -- "${cur#@}")); fi
      return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_fetchpipe_flags "$tool" "$command")" -- "$cur"))
  fi
}

complete -F _fetchpipe fetchpipe
