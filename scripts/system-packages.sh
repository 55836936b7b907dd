# shellcheck shell=bash
# Sourced by the scripts: make sure the Debian packages a script needs are there.
#   ensure_system_packages python3-venv postgresql ...
# Each package is checked by what it provides, not by dpkg, so tools installed another way
# count too. As root the missing ones are installed; otherwise one line says what to run.

ensure_system_packages() {
  local IFS=' ' package missing packages=() what=()
  for package in "$@"; do
    case "$package" in
      # Plain Debian ships python3 without its venv module.
      python3-venv) python3 -m venv --help >/dev/null 2>&1 || what+=("python3's venv module") ;;
      # initdb is not on PATH: Debian keeps it under the server's versioned directory.
      postgresql) compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || what+=("PostgreSQL's initdb") ;;
      # The tests also check the generated rules with promtool, from the same package.
      prometheus) command -v prometheus >/dev/null && command -v promtool >/dev/null || what+=("prometheus/promtool") ;;
      # Selenium drives chromium (a command of its own name) through chromedriver.
      chromium-driver) command -v chromedriver >/dev/null || what+=("chromedriver") ;;
      # Anything else provides a command of its own name.
      *) command -v "$package" >/dev/null || what+=("$package") ;;
    esac
    # The check just added to what: this package is missing.
    if [ ${#what[@]} -gt ${#packages[@]} ]; then packages+=("$package"); fi
  done
  if [ ${#packages[@]} -eq 0 ]; then return 0; fi

  # Without recommends podman lacks what it needs to build and run (tests/podman.py says why).
  if [[ " ${packages[*]} " == *" podman "* ]]; then
    packages+=(buildah conmon netavark aardvark-dns containernetworking-plugins catatonit
      fuse-overlayfs slirp4netns uidmap iptables ca-certificates)
  fi
  missing=$(printf '%s, ' "${what[@]}")
  missing=${missing%, }
  if ! command -v apt-get >/dev/null; then
    echo "$0: missing $missing; not Debian (no apt-get), so install these yourself" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "$0: missing $missing; install with: sudo apt-get install -y --no-install-recommends ${packages[*]}" >&2
    exit 1
  fi
  echo "== installing the Debian packages this needs: ${packages[*]}"
  # Explicit exits: set -e does not reach in here when a caller tests the function's status.
  apt-get update -q || exit 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" || exit 1
}
