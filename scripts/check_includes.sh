#!/usr/bin/env bash
# Checks the module arrows of docs/ARCHITECTURE.md on #include lines: a folder of src/ may
# include only the folders it is allowed to depend on. (The unit-test binaries catch most of
# this at link time; the server binary links everything and cannot.)
set -uo pipefail
cd "$(dirname "$0")/.."

declare -A allowed=(
  [flow]="flow"
  [engine]="engine flow"
  [store]="store"
  [http]="http"
  [media]="media"
  [sip]="sip media engine flow"
  [elements]="elements engine flow"
  [server]="server elements engine flow store http sip media"
  [cli]="cli server elements engine flow store http sip media"
)
status=0
for folder in "${!allowed[@]}"; do
  while IFS= read -r line; do
    file=${line%%:*}
    target=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$line")
    [[ "$target" == "callflow" ]] && continue
    if ! grep -qw "$target" <<<"${allowed[$folder]}"; then
      echo "check_includes: $file includes $target/, which $folder/ may not use" >&2
      status=1
    fi
  done < <(grep -rHE '#include "[a-z_]+/' "src/$folder" 2>/dev/null)
done
# include/callflow holds interfaces only: the standard library, Asio's awaitable, each other.
if grep -rhE '#include [<"]' include/callflow | grep -vE '#include <[a-z_]+>|#include "callflow/|#include <boost/asio/awaitable.hpp>' ; then
  echo "check_includes: include/callflow may include only the standard library, each other" \
       "and <boost/asio/awaitable.hpp>" >&2
  status=1
fi
[[ $status -eq 0 ]] && echo "check_includes: ok"
exit $status
