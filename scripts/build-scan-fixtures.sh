#!/usr/bin/env bash
# Builds the real-content fixtures the inventory (SBOM) tests read, under DIR:
#   debian-rootfs/  a Debian bookworm minbase root made by debootstrap (dpkg status, os-release, python3)
#   rpm-root/       a SQLite rpmdb made by Debian's rpm from tiny packages built here (an Epoch, a `~` version)
#   python-site/    distributions installed by pip, plus this machine's pip and setuptools dist-info
#   npm-tree/       an npm tree (package.json files and package-lock.json v3) installed by npm ci from its cache
# Idempotent: a part that exists is kept; a missing one is built in a temporary folder and renamed into place.
# Needs root (debootstrap), debootstrap, rpm (rpmbuild), python3 with pip, npm, and Debian's mirror.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
mirror=${BERTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}

temps=()
cleanup() {
  for t in "${temps[@]}"; do
    # debootstrap mounts these inside the target; a failed run can leave them behind.
    for m in proc sys dev/pts; do umount -l "$t/root/$m" 2>/dev/null || true; done
    rm -rf "$t"
  done
}
trap cleanup EXIT

# One builder at a time per DIR; a later one finds the parts made and does nothing.
exec 9>"$out/.lock"
flock 9
# Left by a run that was killed (the lock says none is running now).
rm -rf "$out"/.build-*

# A fresh temporary folder beside the final one, so the last step is a rename on one filesystem. Sets T.
new_temp() {
  T=$(mktemp -d "$out/.build-$1-XXXXXX")
  temps+=("$T")
}

build_debian() {
  local t
  new_temp debian
  t=$T
  command -v debootstrap >/dev/null || { echo "debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
  echo "building debian-rootfs (debootstrap bookworm minbase)" >&2
  debootstrap --variant=minbase --include=python3-minimal,python3-six,python3-certifi \
    bookworm "$t/root" "$mirror" >"$t/debootstrap.log" 2>&1 || {
    tail -n 30 "$t/debootstrap.log" >&2
    exit 1
  }
  rm -f "$t/root"/var/cache/apt/archives/*.deb
  mv "$t/root" "$out/debian-rootfs"
}

write_spec() {
  # $1 file, then the spec body on stdin
  cat >"$1"
}

build_rpm() {
  local t
  new_temp rpm
  t=$T
  command -v rpmbuild >/dev/null || { echo "rpmbuild is missing (apt-get install rpm)" >&2; exit 1; }
  echo "building rpm-root (rpmbuild + rpm --justdb, sqlite backend)" >&2
  mkdir -p "$t/specs" "$t/top" "$t/root"
  write_spec "$t/specs/berth-epoch-tool.spec" <<'EOF'
Name: berth-epoch-tool
Epoch: 2
Version: 1.0.3
Release: 4
Summary: A tool whose version carries an epoch
License: MIT
Vendor: Berth Tests
BuildArch: noarch
%description
A package with an Epoch for the Berth inventory tests.
%files
EOF
  write_spec "$t/specs/berth-tilde-lib.spec" <<'EOF'
Name: berth-tilde-lib
Version: 2.0~rc1
Release: 1
Summary: A library whose version sorts before 2.0
License: Apache-2.0 OR MIT
BuildArch: noarch
%description
A package with a tilde version for the Berth inventory tests.
%files
EOF
  # The subpackage's source rpm is berth-suite-…, so its source name differs from its name.
  write_spec "$t/specs/berth-suite.spec" <<'EOF'
Name: berth-suite
Version: 0.9
Release: 7
Summary: A suite with a subpackage
License: GPLv2+
BuildArch: noarch
%description
The main package of a suite.
%package -n berth-suite-data
Summary: Data files of the suite
%description -n berth-suite-data
The data subpackage of the suite.
%files
%files -n berth-suite-data
EOF
  for spec in "$t"/specs/*.spec; do
    rpmbuild --define "_topdir $t/top" --define '_build_id_links none' -bb "$spec" >"$t/rpmbuild.log" 2>&1 || {
      cat "$t/rpmbuild.log" >&2
      exit 1
    }
  done
  rpm --root "$t/root" --dbpath /var/lib/rpm --define '_db_backend sqlite' --initdb
  rpm --root "$t/root" --dbpath /var/lib/rpm --define '_db_backend sqlite' \
    --justdb --nodeps --noscripts --ignorearch --ignoreos -i "$t"/top/RPMS/noarch/*.rpm
  # A query closes the database cleanly, which folds any write-ahead log into the main file.
  rpm --root "$t/root" --dbpath /var/lib/rpm --define '_db_backend sqlite' -qa >/dev/null
  rm -f "$t/root/var/lib/rpm/rpmdb.sqlite-shm" "$t/root/var/lib/rpm/rpmdb.sqlite-wal" "$t/root/var/lib/rpm/.rpm.lock"
  [ -s "$t/root/var/lib/rpm/rpmdb.sqlite" ] || { echo "rpm made no rpmdb.sqlite" >&2; exit 1; }
  mv "$t/root" "$out/rpm-root"
}

build_python() {
  local t site pip_flags
  new_temp python
  t=$T
  echo "building python-site (pip install of a local wheel; pip and setuptools dist-info)" >&2
  site="$t/root/usr/lib/python3/site-packages"
  mkdir -p "$site" "$t/wheel"
  # A wheel made by hand needs neither setuptools nor wheel, which a bare python3 may lack.
  python3 - "$t/wheel" <<'EOF'
import base64, hashlib, sys, zipfile
out = sys.argv[1]
name, version = "Berth_Sample.Tool", "1.4.2"
dist = "berth_sample_tool-1.4.2"
files = {
    "berth_sample/__init__.py": "VALUE = 1\n",
    f"{dist}.dist-info/METADATA": (
        "Metadata-Version: 2.1\n"
        f"Name: {name}\n"
        f"Version: {version}\n"
        "Summary: A tiny distribution the Berth scan tests install\n"
        "Author: Berth Tests\n"
        "Author-email: Berth Tests <tests@berth.invalid>\n"
        "License: MIT\n"
        "Classifier: License :: OSI Approved :: MIT License\n"
        "\n"
        "A long description that must not be read as headers.\n"
        "Name: not-a-header\n"
    ),
    f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: berth-fixtures\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    f"{dist}.dist-info/top_level.txt": "berth_sample\n",
}
record = []
for path, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record.append(f"{path},sha256={digest},{len(text.encode())}")
record.append(f"{dist}.dist-info/RECORD,,")
with zipfile.ZipFile(f"{out}/{dist}-py3-none-any.whl", "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
    z.writestr(f"{dist}.dist-info/RECORD", "\n".join(record) + "\n")
EOF
  pip_flags=(--no-index --no-deps --disable-pip-version-check --target "$site")
  if python3 -m pip install --help 2>/dev/null | grep -q -- --break-system-packages; then
    pip_flags+=(--break-system-packages)
  fi
  python3 -m pip install "${pip_flags[@]}" "$t"/wheel/*.whl >"$t/pip.log" 2>&1 || {
    cat "$t/pip.log" >&2
    exit 1
  }
  local own
  own=$(python3 -c 'import os, pip; print(os.path.dirname(os.path.dirname(pip.__file__)))')
  for d in "$own"/pip-*.dist-info "$own"/setuptools-*.dist-info "$own"/setuptools-*.egg-info; do
    [ -e "$d" ] && cp -r "$d" "$site/"
  done
  ls -d "$site"/pip-*.dist-info >/dev/null || { echo "no pip dist-info found in $own" >&2; exit 1; }
  mv "$t/root" "$out/python-site"
}

build_npm() {
  local t app
  new_temp npm
  t=$T
  echo "building npm-tree (npm ci --offline from a lock file cut out of the repository's)" >&2
  app="$t/root/app"
  mkdir -p "$app"
  # npm install --offline needs the registry's package documents, which npm ci never caches; npm ci with a
  # lock file needs only the tarballs, found in the cache by their integrity. So the fixture's lock file is
  # the repository's own, cut down to these packages and everything they depend on.
  (cd "$repo" && node -e '
    const lock = require("./package-lock.json");
    const names = ["zod", "semver", "commander", "@peculiar/x509"];
    const packages = {};
    const dependencies = {};
    // Where Node finds `name` for the package installed at `from`: the nearest node_modules going up.
    const locate = (from, name) => {
      let base = from;
      for (;;) {
        const path = `${base ? `${base}/` : ""}node_modules/${name}`;
        if (lock.packages[path]) return path;
        if (!base) throw new Error(`${name} (needed by ${from || "the root"}) is not in package-lock.json`);
        const cut = base.lastIndexOf("/node_modules/");
        base = cut < 0 ? "" : base.slice(0, cut);
      }
    };
    const add = (path) => {
      if (packages[path]) return;
      const { dev, devOptional, peer, ...entry } = lock.packages[path];
      packages[path] = entry;
      for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
        try { add(locate(path, dep)); } catch (err) { if (!entry.optionalDependencies?.[dep]) throw err; }
      }
    };
    for (const name of names) {
      const path = locate("", name);
      dependencies[name] = lock.packages[path].version;
      add(path);
    }
    const root = { name: "berth-fixture-app", version: "1.0.0", dependencies };
    const out = process.argv[1];
    require("node:fs").writeFileSync(`${out}/package.json`, JSON.stringify({ ...root, private: true }) + "\n");
    require("node:fs").writeFileSync(
      `${out}/package-lock.json`,
      JSON.stringify({ ...root, lockfileVersion: 3, requires: true, packages: { "": root, ...packages } }, null, 2) + "\n",
    );
  ' "$app")
  (cd "$app" && npm ci --offline --ignore-scripts --no-audit --no-fund >"$t/npm.log" 2>&1) || {
    cat "$t/npm.log" >&2
    echo "npm ci --offline failed: the npm cache lacks these packages (run npm ci in the repository first)" >&2
    exit 1
  }
  # Only the metadata matters to the tests: drop code, keep every package.json and npm's hidden lock file.
  find "$app/node_modules" -type f ! -name package.json ! -name .package-lock.json -delete
  find "$app/node_modules" -type d -empty -delete
  mv "$t/root" "$out/npm-tree"
}

[ -d "$out/debian-rootfs" ] || build_debian
[ -d "$out/rpm-root" ] || build_rpm
[ -d "$out/python-site" ] || build_python
[ -d "$out/npm-tree" ] || build_npm
echo "scan fixtures ready in $out" >&2
