#!/usr/bin/python3
"""A second, independent implementation of cosign's key and signature formats, for Berth's tests only.

Written from cosign's published SIGNATURE_SPEC.md and go-securesystemslib's encrypted key envelope, in another
language and with other libraries (Debian's python3-cryptography and python3-nacl, scrypt from hashlib), so
that Berth's TypeScript implementation is checked against something that did not share its mistakes.

Commands (output is one JSON object on stdout; the passphrase comes from BERTH_KEY_PASSWORD):
  generate PREFIX                       write PREFIX.key (ENCRYPTED SIGSTORE PRIVATE KEY) and PREFIX.pub
  sign KEY REGISTRY REPO DIGEST [k=v..] sign DIGEST and append the signature at REPO:sha256-<hex>.sig
  verify PUB REGISTRY REPO DIGEST [k=v..]  check every signature stored for DIGEST; exit 1 when none verifies
REGISTRY is a base URL such as http://127.0.0.1:5000 (no authentication).
"""

import base64
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request

import nacl.exceptions
import nacl.secret
import nacl.utils
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_KEY = "dev.cosignproject.cosign/signature"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


def password():
    return os.environ.get("BERTH_KEY_PASSWORD", "").encode()


def scrypt_key(salt, params):
    return hashlib.scrypt(password(), salt=salt, n=params["N"], r=params["r"], p=params["p"],
                          maxmem=256 * 1024 * 1024, dklen=32)


def pem(kind, body):
    text = base64.b64encode(body).decode()
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (kind, "\n".join(lines), kind)


def unpem(text):
    lines = text.strip().splitlines()
    kind = lines[0][len("-----BEGIN "):-len("-----")]
    return kind, base64.b64decode("".join(lines[1:-1]))


def generate(prefix):
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    salt = os.urandom(32)
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    params = {"N": 32768, "r": 8, "p": 1}
    box = nacl.secret.SecretBox(scrypt_key(salt, params))
    sealed = box.encrypt(der, nonce).ciphertext
    envelope = {
        "kdf": {"name": "scrypt", "params": params, "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    with open(prefix + ".key", "w") as f:
        f.write(pem("ENCRYPTED SIGSTORE PRIVATE KEY", json.dumps(envelope).encode()))
    with open(prefix + ".pub", "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    return {"private": prefix + ".key", "public": prefix + ".pub"}


def load_private(path):
    with open(path) as f:
        kind, body = unpem(f.read())
    if kind not in ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"):
        raise SystemExit("unexpected PEM type " + kind)
    envelope = json.loads(body)
    assert envelope["kdf"]["name"] == "scrypt" and envelope["cipher"]["name"] == "nacl/secretbox"
    key = scrypt_key(base64.b64decode(envelope["kdf"]["salt"]), envelope["kdf"]["params"])
    try:
        der = nacl.secret.SecretBox(key).decrypt(base64.b64decode(envelope["ciphertext"]),
                                                 base64.b64decode(envelope["cipher"]["nonce"]))
    except nacl.exceptions.CryptoError:
        print(json.dumps({"error": "wrong-passphrase"}))
        sys.exit(3)
    return serialization.load_der_private_key(der, password=None)


def request(method, url, body=None, content_type=None, accept=None):
    req = urllib.request.Request(url, data=body, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    if accept:
        req.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(req) as res:
            return res.status, res.read(), res.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(registry, repo, data):
    digest = sha256(data)
    status, _, headers = request("POST", "%s/v2/%s/blobs/uploads/" % (registry, repo))
    assert status == 202, status
    location = urllib.parse.urljoin(registry + "/", headers["Location"])
    sep = "&" if "?" in location else "?"
    status, body, _ = request("PUT", "%s%sdigest=%s" % (location, sep, digest), data,
                              "application/octet-stream")
    assert status == 201, (status, body)
    return digest


def signature_tag(digest):
    return digest.replace(":", "-") + ".sig"


def stored_layers(registry, repo, digest):
    status, body, _ = request("GET", "%s/v2/%s/manifests/%s" % (registry, repo, signature_tag(digest)),
                              accept=OCI_MANIFEST)
    if status == 404:
        return []
    assert status == 200, status
    return json.loads(body)["layers"]


def annotations_of(pairs):
    return dict(pair.split("=", 1) for pair in pairs)


def sign(key_path, registry, repo, digest, pairs):
    key = load_private(key_path)
    host = registry.split("://", 1)[1]
    claims = annotations_of(pairs)
    payload = json.dumps({
        "critical": {
            "identity": {"docker-reference": "%s/%s" % (host, repo)},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": claims or None,
    }, separators=(",", ":")).encode()
    signature = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    layers = stored_layers(registry, repo, digest)
    layers.append({"mediaType": SIMPLE_SIGNING, "size": len(payload), "digest": push_blob(registry, repo, payload),
                   "annotations": {SIGNATURE_KEY: signature}})
    config = json.dumps({"architecture": "", "os": "", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": push_blob(registry, repo, config)},
        "layers": layers,
    }).encode()
    status, body, _ = request("PUT", "%s/v2/%s/manifests/%s" % (registry, repo, signature_tag(digest)), manifest,
                              OCI_MANIFEST)
    assert status == 201, (status, body)
    return {"signatures": len(layers), "payloadDigest": sha256(payload)}


def verify(pub_path, registry, repo, digest, pairs):
    with open(pub_path, "rb") as f:
        public = serialization.load_pem_public_key(f.read())
    required = annotations_of(pairs)
    results = []
    for layer in stored_layers(registry, repo, digest):
        results.append(check(public, registry, repo, digest, required, layer))
    return {"signatures": results, "verified": sum(1 for r in results if r == "verified")}


def check(public, registry, repo, digest, required, layer):
    if layer.get("mediaType") != SIMPLE_SIGNING:
        return "not-simple-signing"
    signature = (layer.get("annotations") or {}).get(SIGNATURE_KEY)
    try:
        raw_signature = base64.b64decode(signature or "", validate=True)
    except ValueError:
        raw_signature = b""
    if not raw_signature:
        return "no-signature"
    status, payload, _ = request("GET", "%s/v2/%s/blobs/%s" % (registry, repo, layer["digest"]))
    if status != 200:
        return "payload-missing"
    if sha256(payload) != layer["digest"]:
        return "payload-digest-mismatch"
    try:
        public.verify(raw_signature, payload, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return "signature-mismatch"
    claims = json.loads(payload)
    if claims["critical"]["type"] != "cosign container image signature":
        return "wrong-type"
    if claims["critical"]["image"]["docker-manifest-digest"] != digest:
        return "digest-mismatch"
    optional = claims.get("optional") or {}
    if any(optional.get(k) != v for k, v in required.items()):
        return "annotation-mismatch"
    return "verified"


def main(argv):
    command = argv[0]
    if command == "generate":
        result = generate(argv[1])
    elif command == "sign":
        result = sign(argv[1], argv[2], argv[3], argv[4], argv[5:])
    elif command == "verify":
        result = verify(argv[1], argv[2], argv[3], argv[4], argv[5:])
    else:
        raise SystemExit("unknown command " + command)
    print(json.dumps(result))
    if command == "verify" and result["verified"] == 0:
        sys.exit(1)


if __name__ == "__main__":
    import urllib.parse
    main(sys.argv[1:])
