//! Registry tokens: RS256 JWTs whose header carries the signing certificate (`x5c`), with
//! the claims the Docker registry checks (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`, `jti`,
//! `access`).

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use chrono::{DateTime, Utc};
use openssl::{hash::MessageDigest, sign::Signer};
use serde::Serialize;
use serde_json::json;

use crate::registry::keys::RegistryKeys;

/// One granted access entry.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccessEntry {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub actions: Vec<&'static str>,
}

/// What a token says.
#[derive(Debug, Clone)]
pub struct Claims {
    pub issuer: String,
    pub subject: String,
    pub audience: String,
    pub issued_at: DateTime<Utc>,
    pub lifetime_seconds: i64,
    pub access: Vec<AccessEntry>,
}

/// Signs `claims` into a compact JWS.
pub fn sign(keys: &RegistryKeys, claims: &Claims) -> anyhow::Result<String> {
    let header = json!({
        "alg": "RS256",
        "typ": "JWT",
        "x5c": [STANDARD.encode(keys.certificate_der()?)],
    });
    let issued = claims.issued_at.timestamp();
    let mut jti = [0u8; 16];
    rand::fill(&mut jti);
    let body = json!({
        "iss": claims.issuer,
        "sub": claims.subject,
        "aud": claims.audience,
        "exp": issued + claims.lifetime_seconds,
        "nbf": issued,
        "iat": issued,
        "jti": URL_SAFE_NO_PAD.encode(jti),
        "access": claims.access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body)?)
    );
    let mut signer = Signer::new(MessageDigest::sha256(), &keys.key)?;
    signer.update(signing_input.as_bytes())?;
    let signature = signer.sign_to_vec()?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::sign::Verifier;

    #[test]
    fn tokens_carry_the_claims_and_verify_with_the_certificate() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = crate::registry::keys::load_or_generate(dir.path(), "wvs-test").expect("keys");
        // A second load reads the same keys back.
        let again = crate::registry::keys::load_or_generate(dir.path(), "wvs-test").expect("keys");
        assert_eq!(
            keys.certificate_der().expect("der"),
            again.certificate_der().expect("der")
        );
        let issued_at = DateTime::parse_from_rfc3339("2027-01-15T12:00:00Z")
            .expect("time")
            .to_utc();
        let claims = Claims {
            issuer: "wvs-test".into(),
            subject: "alice".into(),
            audience: "container_registry".into(),
            issued_at,
            lifetime_seconds: 300,
            access: vec![AccessEntry {
                kind: "repository",
                name: "alice/app".into(),
                actions: vec!["pull"],
            }],
        };
        let token = sign(&keys, &claims).expect("sign");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header["alg"], "RS256");
        assert_eq!(
            header["x5c"][0],
            STANDARD.encode(keys.certificate_der().expect("der"))
        );
        let body: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(body["iss"], "wvs-test");
        assert_eq!(body["sub"], "alice");
        assert_eq!(body["aud"], "container_registry");
        assert_eq!(body["exp"].as_i64(), Some(issued_at.timestamp() + 300));
        assert_eq!(body["nbf"], body["iat"]);
        assert_eq!(
            body["access"],
            json!([{ "type": "repository", "name": "alice/app", "actions": ["pull"] }])
        );
        let public = keys.certificate.public_key().expect("public key");
        let mut verifier = Verifier::new(MessageDigest::sha256(), &public).expect("verifier");
        verifier
            .update(format!("{}.{}", parts[0], parts[1]).as_bytes())
            .expect("update");
        assert!(
            verifier
                .verify(&URL_SAFE_NO_PAD.decode(parts[2]).expect("b64"))
                .expect("verify")
        );
    }
}
