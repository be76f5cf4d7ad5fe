//! The token format: `wvspat-` + 32 random base62 characters + a 6-character base62
//! CRC32 of everything before it. Parsing checks prefix, length, alphabet and checksum
//! before anything touches the database, so typos and junk cost no I/O.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::Sha256;

/// What every personal access token starts with; secret scanners key on it.
pub const TOKEN_PREFIX: &str = "wvspat-";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
/// Total length of a token.
pub const TOKEN_LEN: usize = TOKEN_PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A well-formed plain token. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

/// Why a presented string is not a token (for logs and metrics only; clients get one message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedToken {
    Prefix,
    Length,
    Alphabet,
    Checksum,
}

impl TokenSecret {
    /// Draws a new random token from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut token = String::with_capacity(TOKEN_LEN);
        token.push_str(TOKEN_PREFIX);
        for _ in 0..RANDOM_LEN {
            token.push(BASE62[rng.random_range(0..BASE62.len())] as char);
        }
        for digit in encode_checksum(crc32fast::hash(token.as_bytes())) {
            token.push(char::from(digit));
        }
        TokenSecret(token)
    }

    /// Parses a presented token; surrounding ASCII whitespace is ignored.
    pub fn parse(presented: &str) -> Result<Self, MalformedToken> {
        let token = presented.trim_ascii();
        let Some(rest) = token.strip_prefix(TOKEN_PREFIX) else {
            return Err(MalformedToken::Prefix);
        };
        if rest.len() != RANDOM_LEN + CHECKSUM_LEN {
            return Err(MalformedToken::Length);
        }
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(MalformedToken::Alphabet);
        }
        let (body, checksum) = token.split_at(TOKEN_LEN - CHECKSUM_LEN);
        if encode_checksum(crc32fast::hash(body.as_bytes())) != checksum.as_bytes() {
            return Err(MalformedToken::Checksum);
        }
        Ok(TokenSecret(token.to_owned()))
    }

    /// The plain token, for the one response that hands it to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The keyed digest stored at rest and looked up on authentication.
    pub fn digest(&self, key: &SecretKey) -> [u8; 32] {
        let mut mac = key.mac.clone();
        mac.update(self.0.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret([REDACTED])")
    }
}

/// The instance key for token digests. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct SecretKey {
    /// HMAC state with the key already absorbed; cloned per digest instead of re-keyed.
    mac: Hmac<Sha256>,
}

impl SecretKey {
    /// Wraps key material (the configuration insists on at least 32 bytes).
    pub fn new(bytes: Vec<u8>) -> Self {
        // HMAC takes keys of any length, so this cannot fail; it runs once at start-up.
        let mac = Hmac::<Sha256>::new_from_slice(&bytes).expect("HMAC accepts any key length");
        SecretKey { mac }
    }

    /// A keyed digest of `data` for another `purpose` (session cookies, CSRF tokens): the
    /// purpose is absorbed first, so digests made for one purpose never match another's.
    pub fn derive(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([REDACTED])")
    }
}

/// The checksum's base62 digits, most significant first (no allocation: every presented
/// token is checked).
fn encode_checksum(mut value: u32) -> [u8; CHECKSUM_LEN] {
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_tokens_have_the_documented_shape_and_parse() {
        let token = TokenSecret::generate();
        assert_eq!(token.expose().len(), TOKEN_LEN);
        assert_eq!(TOKEN_LEN, 45);
        assert!(token.expose().starts_with("wvspat-"));
        assert_eq!(TokenSecret::parse(token.expose()), Ok(token.clone()));
        assert_ne!(TokenSecret::generate(), token);
    }

    #[test]
    fn surrounding_ascii_whitespace_is_ignored() {
        let token = TokenSecret::generate();
        let padded = format!(" \t{}\r\n ", token.expose());
        assert_eq!(TokenSecret::parse(&padded), Ok(token));
    }

    #[test]
    fn each_kind_of_malformation_is_named() {
        let token = TokenSecret::generate();
        let t = token.expose();
        assert_eq!(
            TokenSecret::parse(&t.replacen("wvspat-", "glpat-x", 1)),
            Err(MalformedToken::Prefix)
        );
        assert_eq!(TokenSecret::parse(&t[..44]), Err(MalformedToken::Length));
        assert_eq!(
            TokenSecret::parse(&format!("{t}0")),
            Err(MalformedToken::Length)
        );
        let mut junk = t.to_owned();
        junk.replace_range(10..11, "-");
        assert_eq!(TokenSecret::parse(&junk), Err(MalformedToken::Alphabet));
        assert_eq!(TokenSecret::parse(""), Err(MalformedToken::Prefix));
        // A non-ASCII character of the right byte length must not slip through or panic.
        let mut multibyte = t[..43].to_owned();
        multibyte.push('é');
        assert_eq!(
            TokenSecret::parse(&multibyte),
            Err(MalformedToken::Alphabet)
        );
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let token = TokenSecret::generate();
        assert!(!format!("{token:?}").contains(&token.expose()[7..]));
        assert!(!format!("{:?}", SecretKey::new(b"k".repeat(32))).contains("kkkk"));
    }

    #[test]
    fn every_single_character_substitution_is_rejected() {
        let token = TokenSecret::generate();
        let bytes = token.expose().as_bytes();
        for position in TOKEN_PREFIX.len()..TOKEN_LEN {
            for &replacement in BASE62.iter().filter(|&&c| c != bytes[position]) {
                let mut altered = bytes.to_vec();
                altered[position] = replacement;
                let altered = String::from_utf8(altered).expect("ASCII");
                assert!(TokenSecret::parse(&altered).is_err(), "accepted {position}");
            }
        }
    }

    #[test]
    fn digest_depends_on_key_and_token() {
        let token = TokenSecret::generate();
        let a = SecretKey::new(vec![1; 32]);
        let b = SecretKey::new(vec![2; 32]);
        assert_eq!(token.digest(&a), token.digest(&a));
        assert_ne!(token.digest(&a), token.digest(&b));
        assert_ne!(token.digest(&a), TokenSecret::generate().digest(&a));
    }

    proptest! {
        #[test]
        fn any_altered_character_is_rejected(position in 0usize..TOKEN_LEN, replacement in any::<char>()) {
            let token = TokenSecret::generate();
            let mut chars: Vec<char> = token.expose().chars().collect();
            prop_assume!(chars[position] != replacement);
            chars[position] = replacement;
            let altered: String = chars.into_iter().collect();
            // Whitespace at either end is trimmed, so the token is then too short: still rejected.
            prop_assert!(TokenSecret::parse(&altered).is_err());
        }

        #[test]
        fn arbitrary_input_never_panics(input in ".{0,80}") {
            let _ = TokenSecret::parse(&input);
        }

        #[test]
        fn arbitrary_prefixed_input_is_rejected(tail in "[0-9A-Za-z]{38}") {
            let candidate = format!("{TOKEN_PREFIX}{tail}");
            // A random tail has a valid checksum with probability 2^-32; treat a pass as a bug.
            prop_assert!(TokenSecret::parse(&candidate).is_err());
        }
    }
}
