"""The independent verifier of verify_sdjwt.py, for credentials whose issuer is a did:web
identifier: the keys come from the issuer's DID document instead of /.well-known/jwt-vc-issuer.
Everything else (the IETF reference implementation `sd-jwt` and PyJWT on the credential, the
presentation with its key-binding JWT, the status list entry) is verify_sdjwt.py's own code.

Usage: python verify_didweb.py STATE.json
  STATE.json (written by tests/interop_presentation.rs from what presentation.mjs reported):
    { "resolve": { <did:web host>: <base URL>, ... },
      "holders": { NAME: { "credential", "presentation", "aud", "nonce" }, ... } }
  For each holder this script reads the credential's `iss` (a did:web identifier), fetches its
  DID document from the base URL `resolve` maps the host to (as `trustc serve --resolve` does for
  a local run), checks the document's `id`, collects the JWKs of its verification methods that
  `assertionMethod` names, and verifies the holder as verify_sdjwt.py does.
Prints one JSON summary on stdout and exits 0; the Rust test decides what is right. Unexpected
failures print the summary so far on stdout and the error on stderr, and exit 1.
"""

import json
import sys
import traceback
import urllib.parse

import jwt as pyjwt

from verify_sdjwt import get_json, package_version, verify_holder


def main(state_path):
    summary = {"sd_jwt_version": package_version("sd-jwt"), "pyjwt_version": pyjwt.__version__, "holders": {}}
    try:
        with open(state_path, encoding="utf-8") as file:
            state = json.load(file)
        for name, holder in state["holders"].items():
            report = {}
            summary["holders"][name] = report
            issuer = pyjwt.decode(holder["credential"].split("~")[0], options={"verify_signature": False})["iss"]
            keys = did_web_keys(issuer, state["resolve"], report)
            verify_holder(issuer, keys, holder, report)
    except Exception as error:  # noqa: BLE001 - reported to the test with the summary so far
        print(f"the Python verifier failed: {error!r}", file=sys.stderr)
        traceback.print_exc()
        summary["failure"] = repr(error)
        print(json.dumps(summary, indent=2))
        return 1
    print(json.dumps(summary, indent=2))
    return 0


def did_web_keys(did, resolve, report):
    """The assertion keys of a did:web DID, by every name a JWT header's `kid` may use for them
    (the full DID URL, `#fragment`, the fragment alone)."""
    if not did.startswith("did:web:"):
        raise ValueError(f"the credential's iss is {did!r}, not a did:web identifier")
    host, *path = [urllib.parse.unquote(part) for part in did[len("did:web:"):].split(":")]
    base = resolve.get(host, f"https://{host}")
    url = f"{base}/{'/'.join(path)}/did.json" if path else f"{base}/.well-known/did.json"
    document = get_json(url)
    if document.get("id") != did:
        raise ValueError(f"the DID document at {url} is {document.get('id')!r}, not {did!r}")

    def absolute(reference):
        identifier = reference if isinstance(reference, str) else reference["id"]
        return f"{did}{identifier}" if identifier.startswith("#") else identifier

    assertion = {absolute(method) for method in document.get("assertionMethod", [])}
    methods = document.get("verificationMethod", []) + [
        method for method in document.get("assertionMethod", []) if isinstance(method, dict)
    ]
    keys = {}
    for method in methods:
        identifier = absolute(method)
        if identifier not in assertion or "publicKeyJwk" not in method:
            continue
        fragment = identifier.split("#", 1)[1] if "#" in identifier else identifier
        for kid in (identifier, f"#{fragment}", fragment):
            keys[kid] = method["publicKeyJwk"]
    report["did_document"] = {"url": url, "id": document["id"], "assertion_methods": sorted(assertion)}
    if not keys:
        raise ValueError(f"the DID document of {did} names no assertion key with a publicKeyJwk")
    return keys


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python verify_didweb.py STATE.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
