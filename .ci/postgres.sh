# Sourced by .ci/run: a PostgreSQL server for the pgstore tests (and the
# demo's), on loopback. Kept apart from .ci/run so that its steps can be
# tried on a scratch cluster on another port without touching the real one:
#   bash -c 'source .ci/postgres.sh; ensure_postgres 5433 test'

# ensure_postgres PORT DB makes a server answer on 127.0.0.1:PORT and take
# this user's connections to DB over TCP without a password, as
# postgres://127.0.0.1:PORT/DB asks: it installs Debian's postgresql when
# it is missing, starts the cluster of that port, lets 127.0.0.1 in by
# trust (a throwaway server that listens on loopback only), and creates
# the user's role and the database. A server that already takes the
# connection is left as it is.
ensure_postgres() {
  local port=$1 db=$2 user
  user=$(id -un)
  if pg_answers "$port" && pg_connects "$port" "$db"; then
    return 0
  fi
  if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || ! command -v pg_ctlcluster >/dev/null; then
    echo "installing PostgreSQL"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi

  # The cluster of this port; Debian's package makes one (main) on
  # install, unless told not to.
  local ver name status
  read -r ver name status < <(pg_lsclusters -h | awk -v p="$port" '$3 == p { print $1, $2, $4; exit }') || true
  if [ -z "${ver:-}" ]; then
    if pg_answers "$port"; then
      echo "a PostgreSQL server answers on 127.0.0.1:$port but is no cluster of pg_lsclusters; set APILOG_POSTGRES_URL to a URL it takes"
      return 1
    fi
    ver=$(basename "$(compgen -G '/usr/lib/postgresql/*' | sort -V | tail -1)")
    name=ci
    echo "creating the PostgreSQL $ver cluster $name on port $port"
    pg_createcluster "$ver" "$name" -p "$port" >/dev/null
    status=down
  fi

  # The first line that matches a connection decides, so trust goes first:
  # a new cluster has peer for the socket and scram-sha-256 for TCP, and
  # the tests' URL carries no password.
  local hba="/etc/postgresql/$ver/$name/pg_hba.conf"
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    echo "letting 127.0.0.1 connect by trust ($hba)"
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  if [ "$status" = online ]; then
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" reload
  else
    echo "starting PostgreSQL $ver/$name"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start
  fi
  for _ in $(seq 30); do
    pg_answers "$port" && break
    sleep 1
  done
  if ! pg_answers "$port"; then
    echo "PostgreSQL $ver/$name does not answer on 127.0.0.1:$port after 30 s:"
    tail -n 20 "/var/log/postgresql/postgresql-$ver-$name.log" || true
    return 1
  fi

  # As the postgres superuser, over the socket (peer authentication): the
  # role this user connects as, and the database. A superuser, as on the
  # developers' machines: the tests create and drop schemas of their own,
  # and nobody else uses this server.
  if [ -z "$(as_postgres psql -p "$port" -qAtc "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" ]; then
    echo "creating the PostgreSQL role $user"
    as_postgres createuser -p "$port" --superuser "$user"
  fi
  if [ -z "$(as_postgres psql -p "$port" -qAtc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    echo "creating the PostgreSQL database $db"
    as_postgres createdb -p "$port" "$db"
  fi
  if ! pg_connects "$port" "$db"; then
    echo "PostgreSQL on 127.0.0.1:$port does not take $user's connections to $db:"
    psql "postgres://127.0.0.1:$port/$db" -c 'SELECT 1' || true
    return 1
  fi
}

# pg_answers PORT: a server accepts connections on 127.0.0.1:PORT.
pg_answers() {
  if command -v pg_isready >/dev/null; then
    pg_isready -q -h 127.0.0.1 -p "$1" -t 3
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# pg_connects PORT DB: this user reaches DB there without a password.
pg_connects() {
  command -v psql >/dev/null &&
    PGCONNECT_TIMEOUT=3 psql "postgres://127.0.0.1:$1/$2" -qAtc 'SELECT 1' >/dev/null 2>&1
}

# as_postgres runs a command as the postgres user, from a directory it may
# enter (psql complains of one it cannot).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && sudo -u postgres "$@")
  fi
}
