//! The verifier's X.509 certificate chain.
//!
//! When `trustc serve` asks a wallet for a presentation (OpenID4VP 1.0), it signs the request
//! object with the issuer key and sends the certificate chain that certifies that key in the
//! `x5c` header. The wallet authenticates the verifier through the chain's leaf: its dNSName
//! (client identifier prefix `x509_san_dns:<dns>`) or the SHA-256 of its DER (`x509_hash:<hash>`).
//! This module reads that chain from a PEM file (leaf first), or makes a self-signed certificate
//! for the issuer key on first start, as [`IssuerKey::load_or_generate`] does for the key, so a
//! development instance works with no setup.
//!
//! Certificates are parsed and built with RustCrypto's `x509-cert`; the DER bytes read are kept
//! as they are, so `x5c` and `x509_hash` are over exactly what the file holds.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::DerSignature;
use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::{GeneralizedTime, Ia5String};
use x509_cert::der::{DateTime, Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use crate::keys::{IssuerKey, PemFile, load_or_create_pem};

/// How long the self-signed certificate [`CertificateChain::load_or_create`] makes is valid.
pub const SELF_SIGNED_DAYS: u32 = 365;

/// How far back [`CertificateChain::load_or_create`] dates a new certificate's `notBefore`, so
/// that a wallet whose clock is a little behind still finds it valid.
const BACKDATE: i64 = 300;

/// The most certificates a chain may hold.
const MAX_CHAIN: usize = 10;

const PEM_LABEL: &str = "CERTIFICATE";

/// Why a certificate chain could not be read, made or used: one sentence for an operator, naming
/// the file (when there is one), the certificate and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X509Error(pub String);

impl fmt::Display for X509Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for X509Error {}

fn fail<T>(message: impl Into<String>) -> Result<T, X509Error> {
    Err(X509Error(message.into()))
}

/// A certificate chain, leaf first, each certificate issued by the next one.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateChain {
    /// The DER of each certificate, exactly as read or made.
    der: Vec<Vec<u8>>,
    /// The same certificates parsed (never empty).
    parsed: Vec<Certificate>,
}

impl fmt::Debug for CertificateChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateChain")
            .field("len", &self.der.len())
            .field("dns_names", &self.dns_names())
            .field("x509_hash", &self.x509_hash())
            .finish()
    }
}

impl CertificateChain {
    /// A self-signed certificate for the issuer key (development): subject `CN=<dns_name>`,
    /// subjectAltName dNSName `dns_name`, a leaf (basicConstraints `cA: false`, keyUsage
    /// digitalSignature) valid from `not_before` (Unix seconds) for `days` days, signed ECDSA
    /// with SHA-256 by the key itself.
    pub fn self_signed(
        key: &IssuerKey,
        dns_name: &str,
        not_before: i64,
        days: u32,
    ) -> Result<CertificateChain, X509Error> {
        check_dns_name(dns_name)?;
        if days == 0 {
            return fail("a certificate must be valid for at least one day");
        }
        let not_after = not_before.saturating_add(i64::from(days) * 86_400);
        let validity = Validity {
            not_before: time(not_before)?,
            not_after: time(not_after)?,
        };
        // Only letters, digits, `-` and `.` (checked above): nothing to escape in the name.
        let subject = Name::from_str(&format!("CN={dns_name}"))
            .map_err(|e| X509Error(format!("cannot make the subject name: {e}")))?;
        let signing = key.signing_key();
        let public_key = SubjectPublicKeyInfoOwned::from_key(*signing.verifying_key())
            .map_err(|e| X509Error(format!("cannot encode the public key: {e}")))?;
        // A self-signed certificate is its own issuer, so it may sign certificates (itself):
        // `CA:TRUE` and `keyCertSign` beside `digitalSignature` (for the request objects), as
        // `openssl req -x509` makes one. Wallets (node's and OpenSSL's `checkIssued`) refuse to
        // call a certificate self-signed without them. The extensions are set by hand (the
        // builder's `Manual` profile), since its leaf profile forbids `keyCertSign`.
        let profile = Profile::Manual { issuer: None };
        let mut builder = CertificateBuilder::new(
            profile,
            random_serial()?,
            validity,
            subject,
            public_key,
            signing,
        )
        .map_err(|e| X509Error(format!("cannot make the certificate: {e}")))?;
        let dns = Ia5String::new(dns_name)
            .map_err(|e| X509Error(format!("`{dns_name}` is not a dNSName: {e}")))?;
        builder
            .add_extension(&BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            })
            .map_err(|e| X509Error(format!("cannot add the basic constraints: {e}")))?;
        builder
            .add_extension(&KeyUsage(
                KeyUsages::DigitalSignature | KeyUsages::KeyCertSign,
            ))
            .map_err(|e| X509Error(format!("cannot add the key usage: {e}")))?;
        builder
            .add_extension(&SubjectAltName(vec![GeneralName::DnsName(dns)]))
            .map_err(|e| X509Error(format!("cannot add the subjectAltName: {e}")))?;
        let certificate = builder
            .build::<DerSignature>()
            .map_err(|e| X509Error(format!("cannot sign the certificate: {e}")))?;
        let der = certificate
            .to_der()
            .map_err(|e| X509Error(format!("cannot encode the certificate: {e}")))?;
        Ok(CertificateChain {
            der: vec![der],
            parsed: vec![certificate],
        })
    }

    /// Reads one or more PEM `CERTIFICATE` blocks, the leaf first and then each certificate's
    /// issuer (as `x5c` orders them). Other PEM blocks (a private key in the same file) are
    /// skipped. Refused, with the certificate's position: no certificate, a block without its
    /// `-----END` line, bad base64, DER that is not an X.509 certificate, a certificate not issued
    /// by the next one (wrong order), more than 10 certificates.
    pub fn from_pem(text: &str) -> Result<CertificateChain, X509Error> {
        let blocks = pem_blocks(text)?;
        let mut der = Vec::new();
        let mut other = None;
        for (label, body) in blocks {
            if label != PEM_LABEL {
                other.get_or_insert(label);
                continue;
            }
            let position = der.len() + 1;
            if position > MAX_CHAIN {
                return fail(format!(
                    "more than {MAX_CHAIN} certificates; give the leaf and its issuers only"
                ));
            }
            let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            let bytes = STANDARD.decode(compact.as_bytes()).map_err(|e| {
                X509Error(format!(
                    "certificate {position}: the PEM body is not base64: {e}"
                ))
            })?;
            der.push(bytes);
        }
        if der.is_empty() {
            return fail(match other {
                Some(label) => format!(
                    "no `{PEM_LABEL}` block found, only `{}`; expected the certificate chain, \
                     leaf first, as PEM `-----BEGIN {PEM_LABEL}-----` blocks",
                    label.chars().take(40).collect::<String>()
                ),
                None => format!(
                    "not PEM: no `-----BEGIN {PEM_LABEL}-----` line found; expected the \
                     certificate chain, leaf first"
                ),
            });
        }
        CertificateChain::from_der(der)
    }

    /// The chain as PEM `CERTIFICATE` blocks, leaf first (64-character lines, LF endings).
    pub fn to_pem(&self) -> String {
        let mut pem = String::new();
        for der in &self.der {
            pem.push_str("-----BEGIN CERTIFICATE-----\n");
            let body = STANDARD.encode(der);
            for line in body.as_bytes().chunks(64) {
                // Base64 is ASCII, so every chunk is UTF-8.
                pem.push_str(std::str::from_utf8(line).unwrap_or_default());
                pem.push('\n');
            }
            pem.push_str("-----END CERTIFICATE-----\n");
        }
        pem
    }

    /// Reads the chain at `path`; when the file does not exist, makes a self-signed certificate
    /// for `key` and `dns_name` (valid [`SELF_SIGNED_DAYS`] days from five minutes before `now`)
    /// and writes it there (parent folders created, mode 0644 on Unix). Returns the chain and
    /// whether this call created the file; racing processes end up with one file, as with
    /// [`IssuerKey::load_or_generate`].
    ///
    /// A chain read from the file must be usable for request objects signed with `key`: its leaf
    /// certifies `key`, names `dns_name` (the public URL's host, which `x509_san_dns:` requires)
    /// and is valid at `now`. Each error names the file.
    pub fn load_or_create(
        path: &Path,
        key: &IssuerKey,
        dns_name: &str,
        now: i64,
    ) -> Result<(CertificateChain, bool), X509Error> {
        let file = PemFile {
            what: "verifier certificate",
            expected: "the PEM certificate chain (leaf first)",
            mode: 0o644,
        };
        load_or_create_pem(
            path,
            &file,
            |text| {
                let chain = CertificateChain::from_pem(text).map_err(|e| e.0)?;
                chain.check_usable(key, dns_name, now).map_err(|e| e.0)?;
                Ok(chain)
            },
            || {
                let chain = CertificateChain::self_signed(
                    key,
                    dns_name,
                    now.saturating_sub(BACKDATE),
                    SELF_SIGNED_DAYS,
                )
                .map_err(|e| e.0)?;
                let pem = chain.to_pem();
                Ok((chain, pem))
            },
        )
        .map_err(X509Error)
    }

    /// The JOSE `x5c` header value (RFC 7515 §4.1.6): each certificate's DER in standard,
    /// padded base64, leaf first.
    pub fn x5c(&self) -> Vec<String> {
        self.der.iter().map(|der| STANDARD.encode(der)).collect()
    }

    /// The OpenID4VP 1.0 `x509_hash` of the chain: base64url (no padding) of the SHA-256 of the
    /// leaf certificate's DER.
    pub fn x509_hash(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.der[0]))
    }

    /// The dNSNames of the leaf's subjectAltName extension, in order (empty without one).
    pub fn dns_names(&self) -> Vec<String> {
        match self.leaf().tbs_certificate.get::<SubjectAltName>() {
            Ok(Some((_, names))) => names
                .0
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DnsName(dns) => Some(dns.as_str().to_owned()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the leaf's public key is `key`'s (so a JWS `key` signs verifies with the leaf).
    pub fn certifies(&self, key: &IssuerKey) -> bool {
        let Ok(spki) = self.leaf().tbs_certificate.subject_public_key_info.to_der() else {
            return false;
        };
        p256::PublicKey::from_public_key_der(&spki)
            .is_ok_and(|leaf| leaf == p256::PublicKey::from(key.signing_key().verifying_key()))
    }

    /// The leaf's `notAfter`, in Unix seconds.
    pub fn not_after(&self) -> i64 {
        unix_seconds(&self.leaf().tbs_certificate.validity.not_after)
    }

    fn leaf(&self) -> &Certificate {
        // `from_der` and `self_signed` never make an empty chain.
        &self.parsed[0]
    }

    fn from_der(der: Vec<Vec<u8>>) -> Result<CertificateChain, X509Error> {
        let mut parsed = Vec::with_capacity(der.len());
        for (index, bytes) in der.iter().enumerate() {
            let certificate = Certificate::from_der(bytes).map_err(|e| {
                X509Error(format!(
                    "certificate {}: not a DER X.509 certificate: {e}",
                    index + 1
                ))
            })?;
            parsed.push(certificate);
        }
        for (index, pair) in parsed.windows(2).enumerate() {
            let (certificate, issuer) = (&pair[0], &pair[1]);
            if certificate.tbs_certificate.issuer != issuer.tbs_certificate.subject {
                return fail(format!(
                    "certificate {} (`{}`) is not the issuer of certificate {} (issued by `{}`); \
                     list the leaf first, then each certificate's issuer",
                    index + 2,
                    issuer.tbs_certificate.subject,
                    index + 1,
                    certificate.tbs_certificate.issuer,
                ));
            }
        }
        Ok(CertificateChain { der, parsed })
    }

    /// Whether request objects signed with `key` can carry this chain for `dns_name` at `now`.
    fn check_usable(&self, key: &IssuerKey, dns_name: &str, now: i64) -> Result<(), X509Error> {
        if !self.certifies(key) {
            return fail(
                "the leaf certificate (the first) is for another key than the issuer key, which \
                 signs the request objects; put the certificate of the issuer key first, or \
                 delete the file to have a self-signed one made for development",
            );
        }
        let names = self.dns_names();
        if !names.iter().any(|name| name.eq_ignore_ascii_case(dns_name)) {
            let listed = if names.is_empty() {
                "no dNSName".to_owned()
            } else {
                names
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return fail(format!(
                "the leaf certificate's subjectAltName has {listed}, not `{dns_name}` (the host \
                 of the public URL, which the `x509_san_dns` client identifier names)"
            ));
        }
        let validity = &self.leaf().tbs_certificate.validity;
        let not_after = unix_seconds(&validity.not_after);
        if not_after < now {
            return fail(format!(
                "the leaf certificate expired at {} ({} s ago); renew it, or delete the file to \
                 have a new self-signed one made for development",
                validity.not_after,
                now - not_after
            ));
        }
        let not_before = unix_seconds(&validity.not_before);
        if not_before > now.saturating_add(BACKDATE) {
            return fail(format!(
                "the leaf certificate is not valid before {} ({} s from now)",
                validity.not_before,
                not_before - now
            ));
        }
        Ok(())
    }
}

/// Checks that `name` is a DNS host name: dot-separated labels of ASCII letters, digits and `-`
/// (not first or last), each at most 63 characters, at most 253 in all.
fn check_dns_name(name: &str) -> Result<(), X509Error> {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.len() > 253 || !name.split('.').all(label_ok) {
        return fail(format!(
            "`{}` is not a DNS host name (labels of ASCII letters, digits and `-`, separated \
             by dots)",
            name.chars().take(80).collect::<String>()
        ));
    }
    Ok(())
}

/// A certificate time from Unix seconds (the builder stores dates before 2050 as UTCTime).
fn time(seconds: i64) -> Result<Time, X509Error> {
    let out_of_range = || X509Error(format!("{seconds} is not a date a certificate can hold"));
    let seconds = u64::try_from(seconds).map_err(|_| out_of_range())?;
    let date =
        DateTime::from_unix_duration(Duration::from_secs(seconds)).map_err(|_| out_of_range())?;
    Ok(Time::GeneralTime(GeneralizedTime::from_date_time(date)))
}

fn unix_seconds(time: &Time) -> i64 {
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// A random positive 16-byte serial number (RFC 5280 §4.1.2.2).
fn random_serial() -> Result<SerialNumber, X509Error> {
    let mut bytes: [u8; 16] = rand::random();
    // Positive, and 16 bytes long once leading zeros are dropped.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(|e| X509Error(format!("cannot make a serial number: {e}")))
}

/// The PEM blocks of `text`: each `-----BEGIN <label>-----` with its label and the text up to
/// its `-----END <label>-----`.
fn pem_blocks(text: &str) -> Result<Vec<(&str, &str)>, X509Error> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(found) = rest.find(BEGIN) {
        let after = &rest[found + BEGIN.len()..];
        let Some(label_len) = after.find(DASHES) else {
            return fail("a `-----BEGIN` line is not closed by `-----`");
        };
        let label = after[..label_len].trim();
        let body_and_rest = &after[label_len + DASHES.len()..];
        let end_line = format!("-----END {label}-----");
        let Some(end) = body_and_rest.find(&end_line) else {
            let position = blocks.iter().filter(|(l, _)| *l == PEM_LABEL).count() + 1;
            let what = if label == PEM_LABEL {
                format!("certificate {position}")
            } else {
                format!("the `{}` block", label.chars().take(40).collect::<String>())
            };
            return fail(format!("{what}: no `{end_line}` line"));
        };
        blocks.push((label, &body_and_rest[..end]));
        rest = &body_and_rest[end + end_line.len()..];
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::{ErrorKind, Write};
    use std::process::Command;

    const NOW: i64 = 1_750_000_000;

    fn self_signed(key: &IssuerKey) -> CertificateChain {
        CertificateChain::self_signed(key, "verifier.example", NOW, 30).unwrap()
    }

    #[test]
    fn a_self_signed_certificate_reads_back_with_its_san_key_and_dates() {
        let key = IssuerKey::generate();
        let chain = self_signed(&key);
        let pem = chain.to_pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
        assert!(pem.lines().all(|line| line.len() <= 64));

        let back = CertificateChain::from_pem(&pem).unwrap();
        assert_eq!(back, chain);
        assert_eq!(back.dns_names(), ["verifier.example"]);
        assert!(back.certifies(&key));
        assert!(!back.certifies(&IssuerKey::generate()));
        assert_eq!(back.not_after(), NOW + 30 * 86_400);
        let validity = &back.leaf().tbs_certificate.validity;
        assert_eq!(unix_seconds(&validity.not_before), NOW);
        let tbs = &back.leaf().tbs_certificate;
        assert_eq!(tbs.subject, tbs.issuer, "self-issued");
        assert_eq!(tbs.subject.to_string(), "CN=verifier.example");

        // Two certificates of one key differ by their serial numbers.
        assert_ne!(self_signed(&key).x509_hash(), chain.x509_hash());
    }

    #[test]
    fn x5c_and_x509_hash_are_over_the_leaf_der() {
        let key = IssuerKey::generate();
        let chain = self_signed(&key);
        let x5c = chain.x5c();
        assert_eq!(x5c.len(), 1);
        let der = STANDARD
            .decode(&x5c[0])
            .expect("x5c is standard padded base64");
        assert_eq!(der, chain.der[0]);
        assert_eq!(
            chain.x509_hash(),
            URL_SAFE_NO_PAD.encode(Sha256::digest(&der))
        );
        assert_eq!(chain.x509_hash().len(), 43);
        assert!(!chain.x509_hash().contains(['+', '/', '=']));
    }

    #[test]
    fn a_request_object_verifies_with_the_key_of_its_x5c_leaf() {
        use p256::ecdsa::signature::Verifier;
        use p256::ecdsa::{Signature, VerifyingKey};

        let key = IssuerKey::generate();
        let chain = self_signed(&key);
        let header = serde_json::json!({"typ": "oauth-authz-req+jwt", "x5c": chain.x5c()});
        let jar = key.sign_jwt_with(&header, &serde_json::json!({"client_id": "x"}));
        let (signing_input, signature) = jar.rsplit_once('.').unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(signing_input.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();

        // What a wallet does: the leaf of `x5c`, its public key, the signature.
        let leaf = STANDARD.decode(header["x5c"][0].as_str().unwrap()).unwrap();
        let leaf = Certificate::from_der(&leaf).unwrap();
        let spki = leaf
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap();
        let verifying = VerifyingKey::from_public_key_der(&spki).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
        verifying
            .verify(signing_input.as_bytes(), &signature)
            .expect("the leaf's key verifies the request object");
        let other = self_signed(&IssuerKey::generate());
        let other = Certificate::from_der(&STANDARD.decode(&other.x5c()[0]).unwrap()).unwrap();
        let other = VerifyingKey::from_public_key_der(
            &other
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .unwrap(),
        )
        .unwrap();
        assert!(other.verify(signing_input.as_bytes(), &signature).is_err());
    }

    #[test]
    fn a_chain_keeps_its_order_and_refuses_a_wrong_one() {
        let leaf_key = IssuerKey::generate();
        let leaf = self_signed(&leaf_key);
        let other =
            CertificateChain::self_signed(&IssuerKey::generate(), "ca.example", NOW, 30).unwrap();
        // A self-signed leaf followed by an unrelated certificate: not its issuer.
        let err = CertificateChain::from_pem(&format!("{}{}", leaf.to_pem(), other.to_pem()))
            .unwrap_err();
        assert!(
            err.0.starts_with(
                "certificate 2 (`CN=ca.example`) is not the issuer of certificate 1 \
                 (issued by `CN=verifier.example`)"
            ),
            "{err}"
        );
        // The same certificate twice is a consistent (if pointless) chain, kept leaf first.
        let twice = CertificateChain::from_pem(&format!("{0}{0}", leaf.to_pem())).unwrap();
        assert_eq!(twice.x5c().len(), 2);
        assert_eq!(twice.x509_hash(), leaf.x509_hash());
    }

    #[test]
    fn pem_with_other_blocks_crlf_and_long_lines_is_read() {
        let key = IssuerKey::generate();
        let chain = self_signed(&key);
        let one_line = format!(
            "-----BEGIN CERTIFICATE-----\r\n{}\r\n-----END CERTIFICATE-----\r\n",
            STANDARD.encode(&chain.der[0])
        );
        let with_key = format!("{}\n{one_line}", key.to_pkcs8_pem());
        assert_eq!(CertificateChain::from_pem(&with_key).unwrap(), chain);
    }

    #[test]
    fn bad_pem_is_refused_with_the_reason() {
        let refused = |text: &str| CertificateChain::from_pem(text).unwrap_err().0;

        assert_eq!(
            refused("hello"),
            "not PEM: no `-----BEGIN CERTIFICATE-----` line found; expected the certificate \
             chain, leaf first"
        );
        let key = IssuerKey::generate();
        let err = refused(&key.to_pkcs8_pem());
        assert!(
            err.starts_with("no `CERTIFICATE` block found, only `PRIVATE KEY`"),
            "{err}"
        );
        let err = refused("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");
        assert!(
            err.starts_with("certificate 1: the PEM body is not base64"),
            "{err}"
        );
        let err = refused("-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n");
        assert!(
            err.starts_with("certificate 1: not a DER X.509 certificate"),
            "{err}"
        );
        let good = self_signed(&key).to_pem();
        let err = refused(&format!("{good}-----BEGIN CERTIFICATE-----\nAAAA\n"));
        assert_eq!(err, "certificate 2: no `-----END CERTIFICATE-----` line");
        let err = refused(&good.repeat(MAX_CHAIN + 1));
        assert!(err.starts_with("more than 10 certificates"), "{err}");
        // A certificate cut short is not DER.
        let der = &self_signed(&key).der[0];
        let cut = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            STANDARD.encode(&der[..der.len() - 10])
        );
        assert!(refused(&cut).starts_with("certificate 1: not a DER X.509 certificate"));
    }

    #[test]
    fn self_signed_refuses_what_no_certificate_can_hold() {
        let key = IssuerKey::generate();
        for bad in [
            "",
            "a..b",
            "-a.example",
            "exa mple",
            "bad,CN=x",
            "é.example",
        ] {
            let err = CertificateChain::self_signed(&key, bad, NOW, 1).unwrap_err();
            assert!(err.0.contains("is not a DNS host name"), "{bad}: {err}");
        }
        let err = CertificateChain::self_signed(&key, "ok.example", -1, 1).unwrap_err();
        assert_eq!(err.0, "-1 is not a date a certificate can hold");
        let err = CertificateChain::self_signed(&key, "ok.example", NOW, 0).unwrap_err();
        assert!(err.0.contains("at least one day"), "{err}");
        // After 2049 the validity is a GeneralizedTime, and still reads back.
        let late = 2_600_000_000;
        let chain = CertificateChain::self_signed(&key, "localhost", late, 1).unwrap();
        let back = CertificateChain::from_pem(&chain.to_pem()).unwrap();
        assert_eq!(back.not_after(), late + 86_400);
    }

    #[test]
    fn load_or_create_makes_a_certificate_once_then_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/verifier.pem");
        let key = IssuerKey::generate();
        let (made, created) =
            CertificateChain::load_or_create(&path, &key, "localhost", NOW).unwrap();
        assert!(created);
        assert!(made.certifies(&key));
        assert_eq!(made.dns_names(), ["localhost"]);
        assert_eq!(
            unix_seconds(&made.leaf().tbs_certificate.validity.not_before),
            NOW - BACKDATE
        );
        assert_eq!(
            made.not_after(),
            NOW - BACKDATE + i64::from(SELF_SIGNED_DAYS) * 86_400
        );
        let (read, created) =
            CertificateChain::load_or_create(&path, &key, "localhost", NOW + 10).unwrap();
        assert!(!created);
        assert_eq!(read, made);
        assert_eq!(fs::read_to_string(&path).unwrap(), made.to_pem());
    }

    #[test]
    fn load_or_create_refuses_a_chain_it_cannot_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("verifier.pem");
        let key = IssuerKey::generate();
        let path_shown = path.display().to_string();

        // The leaf is another key's.
        let other = self_signed(&IssuerKey::generate());
        fs::write(&path, other.to_pem()).unwrap();
        let err =
            CertificateChain::load_or_create(&path, &key, "verifier.example", NOW).unwrap_err();
        assert!(
            err.0.starts_with(&format!(
                "verifier certificate {path_shown}: the leaf certificate (the first) is for \
                 another key than the issuer key"
            )),
            "{err}"
        );

        // Another host name.
        fs::write(&path, self_signed(&key).to_pem()).unwrap();
        let err = CertificateChain::load_or_create(&path, &key, "localhost", NOW).unwrap_err();
        assert!(
            err.0.contains(
                "the leaf certificate's subjectAltName has `verifier.example`, not `localhost`"
            ),
            "{err}"
        );

        // Expired, and not yet valid.
        let err =
            CertificateChain::load_or_create(&path, &key, "verifier.example", NOW + 31 * 86_400)
                .unwrap_err();
        assert!(err.0.contains("the leaf certificate expired at"), "{err}");
        let err = CertificateChain::load_or_create(&path, &key, "verifier.example", NOW - 3_600)
            .unwrap_err();
        assert!(err.0.contains("is not valid before"), "{err}");
        // Within the allowed clock difference it is accepted.
        CertificateChain::load_or_create(&path, &key, "verifier.example", NOW - 60).unwrap();

        // Something else, and an empty file, name the file.
        fs::write(
            &path,
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        )
        .unwrap();
        let err = CertificateChain::load_or_create(&path, &key, "localhost", NOW).unwrap_err();
        assert!(
            err.0.starts_with(&format!(
                "verifier certificate {path_shown}: no `CERTIFICATE` block found, only `PUBLIC KEY`"
            )),
            "{err}"
        );
        fs::write(&path, "").unwrap();
        let err = CertificateChain::load_or_create(&path, &key, "localhost", NOW).unwrap_err();
        assert!(err.0.contains("the file is empty"), "{err}");
    }

    /// Runs `openssl` with `args`; `None` (with a `SKIPPED` line) when it is not installed,
    /// unless `TRUSTC_REQUIRE_INTEROP=1`.
    fn openssl(args: &[&str]) -> Option<std::process::Output> {
        match Command::new("openssl").args(args).output() {
            Ok(output) => Some(output),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                assert!(
                    std::env::var("TRUSTC_REQUIRE_INTEROP").as_deref() != Ok("1"),
                    "openssl not found, and TRUSTC_REQUIRE_INTEROP=1 requires it"
                );
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: x509 openssl check: openssl not found (set \
                     TRUSTC_REQUIRE_INTEROP=1 to fail instead)"
                );
                None
            }
            Err(e) => panic!("openssl could not be started: {e}"),
        }
    }

    #[test]
    fn openssl_reads_the_self_signed_certificate_and_verifies_its_signature() {
        let key = IssuerKey::generate();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let chain = CertificateChain::self_signed(&key, "localhost", now - 60, 2).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cert.pem");
        fs::write(&file, chain.to_pem()).unwrap();
        let file = file.to_str().unwrap();

        let Some(text) = openssl(&["x509", "-in", file, "-noout", "-text"]) else {
            return;
        };
        let shown = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.status.success(),
            "{}",
            String::from_utf8_lossy(&text.stderr)
        );
        for expected in [
            "Version: 3",
            "Signature Algorithm: ecdsa-with-SHA256",
            "Subject: CN = localhost",
            "ASN1 OID: prime256v1",
            "DNS:localhost",
            "CA:TRUE, pathlen:0",
            "Digital Signature, Certificate Sign",
        ] {
            assert!(shown.contains(expected), "`{expected}` in:\n{shown}");
        }

        let Some(verify) = openssl(&["verify", "-CAfile", file, file]) else {
            return;
        };
        assert!(
            verify.status.success(),
            "openssl verify: {}{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        );

        // The DER openssl sees is the one hashed for `x509_hash`.
        let der = openssl(&["x509", "-in", file, "-outform", "DER"]).unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(Sha256::digest(&der.stdout)),
            chain.x509_hash()
        );
    }
}
