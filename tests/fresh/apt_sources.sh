#!/usr/bin/env bash
# Prints "URI SUITE" for each binary (deb) source this machine's apt reads whose suite
# is CODENAME, CODENAME-updates or CODENAME-security, first occurrence only: the
# mirrors a throwaway root of that release should use. Reads both formats:
# one-line (sources.list, *.list) and deb822 (*.sources, Enabled: no skipped).
# Usage: tests/fresh/apt_sources.sh bookworm
set -euo pipefail
codename=${1:?usage: apt_sources.sh CODENAME}
shopt -s nullglob

{
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r "$file" ]] || continue
    # deb [ options ] URI SUITE COMPONENT...
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$file" | awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
  done
  for file in /etc/apt/sources.list.d/*.sources; do
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no")
          for (u = 1; u <= nu; u++) for (s = 1; s <= ns; s++) print uris[u], suites[s]
        types = ""; enabled = ""; nu = 0; ns = 0
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        colon = index($0, ":"); if (colon == 0) next
        field = tolower(substr($0, 1, colon - 1)); value = substr($0, colon + 1)
        gsub(/^[ \t]+|[ \t]+$/, "", value)
        if (field == "types") types = value
        else if (field == "enabled") enabled = tolower(value)
        else if (field == "uris") nu = split(value, uris, " ")
        else if (field == "suites") ns = split(value, suites, " ")
      }
      END { flush() }' "$file"
  done
} | awk -v c="$codename" '$2 == c || $2 == c "-updates" || $2 == c "-security" { sub(/\/+$/, "", $1) }
                          ($2 == c || $2 == c "-updates" || $2 == c "-security") && !seen[$2]++'
