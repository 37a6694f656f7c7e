#!/usr/bin/env bash
# Builds pgvector for the running PostgreSQL from Debian trixie's source package (Debian 12 ships none).
# Idempotent: skips the build when the extension is already installed.
set -euo pipefail
PG_MAJOR=${PG_MAJOR:-$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)}
PG_CONFIG=/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config
SHAREDIR=$("$PG_CONFIG" --sharedir)
if [ -f "$SHAREDIR/extension/vector.control" ]; then
  echo "pgvector: already installed for PostgreSQL $PG_MAJOR"
  exit 0
fi
echo "pgvector: building for PostgreSQL $PG_MAJOR (one time, ~30 s)"
SERVER_VERSION=$(dpkg-query -W -f='${Version}' "postgresql-${PG_MAJOR}")
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "postgresql-server-dev-${PG_MAJOR}=${SERVER_VERSION}" >/dev/null
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# The same mirror host the machine's apt sources already use.
MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
  | grep -vE '^\s*#' | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -1 | tr -d ' ' || true)
MIRROR=${MIRROR%/}
mkdir -p "$WORK/lists/partial" "$WORK/cache/archives/partial"
echo "deb-src [trusted=yes] $MIRROR trixie main" > "$WORK/sources.list"
APT_OPTS=(-o Dir::Etc::SourceList="$WORK/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists="$WORK/lists" -o Dir::Cache="$WORK/cache" -o Acquire::Check-Valid-Until=false)
apt-get "${APT_OPTS[@]}" update -q >/dev/null
cd "$WORK"
apt-get "${APT_OPTS[@]}" source --download-only pgvector >/dev/null
tar xf pgvector_*.orig.tar.*
cd pgvector-*/
make -s PG_CONFIG="$PG_CONFIG" with_llvm=no >/dev/null
make -s PG_CONFIG="$PG_CONFIG" with_llvm=no install >/dev/null
echo "pgvector: installed $(grep default_version "$SHAREDIR/extension/vector.control")"
