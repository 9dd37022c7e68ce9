#!/bin/sh
# A demo CA and one identity per node for the mTLS example (ECDSA P-256). Run it in the
# directory the configs are started from: it writes certs/. Certificates last 30 days;
# rerun to rotate them (running Portsides pick up the new files without a restart).
set -eu
mkdir -p certs
cd certs

# The mesh CA: every node trusts it, and only certificates it signed.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ca.key -out ca.crt -days 30 -subj "/CN=Portside demo mesh CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign

# One certificate per node: its DNS name (checked by clients that dial it by name) and its
# SPIFFE identity (checked by allow-lists on both sides).
issue() { # name dns spiffe-id
  printf 'subjectAltName=DNS:%s,URI:%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$2" "$3" > "$1.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
    -out "$1.crt" -extfile "$1.ext"
  rm "$1.csr" "$1.ext"
}
issue node-a node-a.mesh.test spiffe://mesh.test/node/node-a
issue node-b node-b.mesh.test spiffe://mesh.test/node/node-b
