"""An independent verifier of what `trustc serve` issued, built on the IETF SD-JWT reference
implementation (PyPI `sd-jwt`, with jwcrypto) and PyJWT, so the credentials the JavaScript holder
received are also checked by code that shares nothing with trustc or the JavaScript libraries.

Usage: python verify_sdjwt.py ISSUER_URL STATE.json
  STATE.json is what `issuance.mjs issue` wrote: per holder the issued credential, a presentation
  with a key-binding JWT, its audience and nonce, and the credential's status list reference.
  For each holder this script
  - fetches the issuer's keys from ISSUER_URL/.well-known/jwt-vc-issuer;
  - verifies the issued SD-JWT VC with sd-jwt's SDJWTVerifier (issuer signature with the key the
    header's `kid` names, disclosures) and, separately, the issuer-signed JWT with PyJWT;
  - verifies the presentation, key-binding JWT included (audience, nonce, sd_hash, holder key);
  - fetches the status list token, verifies it with PyJWT and reads the credential's entry.
Prints one JSON summary on stdout and exits 0; the Rust test decides what is right. Unexpected
failures print the summary so far on stdout and the error on stderr, and exit 1.

Run by tests/interop.rs in a virtual environment made from tests/interop/requirements.txt.
"""

import base64
import json
import sys
import traceback
import urllib.request
import zlib

import jwt as pyjwt
import sd_jwt.verifier
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

# Claims the SD-JWT VC specification registers; everything else is a credential claim.
REGISTERED = {"iss", "sub", "vct", "vct#integrity", "iat", "nbf", "exp", "cnf", "status"}


def main(issuer, state_path):
    summary = {"sd_jwt_version": package_version("sd-jwt"), "pyjwt_version": pyjwt.__version__}
    try:
        with open(state_path, encoding="utf-8") as file:
            state = json.load(file)
        metadata = get_json(f"{issuer}/.well-known/jwt-vc-issuer")
        if metadata.get("issuer") != issuer:
            raise ValueError(f"jwt-vc-issuer names issuer {metadata.get('issuer')!r}, expected {issuer!r}")
        keys = {key["kid"]: key for key in metadata["jwks"]["keys"]}
        summary["issuer_kids"] = sorted(keys)
        summary["holders"] = {}
        for name, holder in state["holders"].items():
            report = {}
            summary["holders"][name] = report
            verify_holder(issuer, keys, holder, report)
    except Exception as error:  # noqa: BLE001 - reported to the test with the summary so far
        print(f"the Python verifier failed: {error!r}", file=sys.stderr)
        traceback.print_exc()
        summary["failure"] = repr(error)
        print(json.dumps(summary, indent=2))
        return 1
    print(json.dumps(summary, indent=2))
    return 0


def verify_holder(issuer, keys, holder, report):
    headers = []

    def issuer_key(claimed_issuer, header):
        # sd-jwt hands over the unverified `iss` and header: the key must be the issuer's, by kid.
        headers.append(dict(header))
        if claimed_issuer != issuer:
            raise ValueError(f"the credential's iss is {claimed_issuer!r}, expected {issuer!r}")
        if header.get("kid") not in keys:
            raise ValueError(f"no issuer key with kid {header.get('kid')!r}")
        return JWK.from_json(json.dumps(keys[header["kid"]]))

    credential = holder["credential"]
    verifier = SDJWTVerifier(credential, issuer_key)
    payload = verifier.get_verified_payload()
    raw = verifier._sd_jwt_payload  # the signed payload, with its `_sd` digests
    report["header"] = headers[0]
    report["claims"] = {k: v for k, v in payload.items() if k not in REGISTERED}
    report["vct"] = payload.get("vct")
    report["cnf_jwk"] = payload.get("cnf", {}).get("jwk")
    report["status"] = payload.get("status")
    report["sd_alg"] = raw.get("_sd_alg")
    report["digests"] = len(raw.get("_sd", []))
    report["disclosures"] = len(verifier._input_disclosures)
    # Every disclosure the issuer sent must be referenced by a digest of the signed payload.
    referenced = set(raw.get("_sd", []))
    report["unreferenced_disclosures"] = sum(
        1 for disclosure in verifier._input_disclosures if verifier._b64hash(disclosure.encode("ascii")) not in referenced
    )

    # The issuer-signed JWT once more, with a second JOSE library (signature, alg, exp, iat).
    issuer_jwt = credential.split("~")[0]
    kid = pyjwt.get_unverified_header(issuer_jwt).get("kid")
    decoded = pyjwt.decode(
        issuer_jwt,
        key=pyjwt.PyJWK(keys[kid]).key,
        algorithms=["ES256"],
        issuer=issuer,
        options={"require": ["iss", "iat", "vct", "cnf"]},
    )
    report["pyjwt_verified"] = decoded.get("iss") == issuer

    # The presentation with its key-binding JWT. sd-jwt verifies KB-JWTs with a module-wide default
    # algorithm (ES256); set it from the KB-JWT's header so EdDSA holder keys verify too.
    presentation = holder["presentation"]
    kb_alg = pyjwt.get_unverified_header(presentation.rsplit("~", 1)[1])["alg"]
    sd_jwt.verifier.DEFAULT_SIGNING_ALG = kb_alg
    presented = SDJWTVerifier(presentation, issuer_key, expected_aud=holder["aud"], expected_nonce=holder["nonce"])
    report["presentation"] = {
        "kb_alg": kb_alg,
        "claims": {k: v for k, v in presented.get_verified_payload().items() if k not in REGISTERED},
    }
    # The same presentation for another nonce: the reference implementation must refuse it.
    try:
        SDJWTVerifier(presentation, issuer_key, expected_aud=holder["aud"], expected_nonce=holder["nonce"] + "-other")
        report["presentation"]["wrong_nonce_rejected"] = False
    except ValueError as error:
        report["presentation"]["wrong_nonce_rejected"] = str(error)

    status = payload.get("status", {}).get("status_list")
    if status:
        report["status_value"] = read_status(keys, status["uri"], status["idx"], report)


def read_status(keys, uri, idx, report):
    """The entry `idx` of the status list token at `uri` (Token Status List §4), after checking the
    token's signature with the issuer key its header names."""
    request = urllib.request.Request(uri, headers={"Accept": "application/statuslist+jwt"})
    with urllib.request.urlopen(request, timeout=20) as response:
        content_type = response.headers.get("Content-Type")
        token = response.read().decode("ascii")
    header = pyjwt.get_unverified_header(token)
    claims = pyjwt.decode(
        token,
        key=pyjwt.PyJWK(keys[header["kid"]]).key,
        algorithms=["ES256"],
        options={"require": ["sub", "iat", "status_list"]},
    )
    status_list = claims["status_list"]
    bits = status_list["bits"]
    data = zlib.decompress(b64url(status_list["lst"]))
    position = idx * bits
    value = (data[position // 8] >> (position % 8)) & ((1 << bits) - 1)
    report["status_list"] = {
        "content_type": content_type,
        "typ": header.get("typ"),
        "sub_is_uri": claims["sub"] == uri,
        "bits": bits,
        "entries": len(data) * 8 // bits,
    }
    return value


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def get_json(url):
    with urllib.request.urlopen(url, timeout=20) as response:
        return json.load(response)


def package_version(name):
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python verify_sdjwt.py ISSUER_URL STATE.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
