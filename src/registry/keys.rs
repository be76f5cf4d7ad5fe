//! The registry signing key and its self-signed certificate (the registry's
//! `rootcertbundle`), generated into `<data dir>/registry/` on first use. Several processes
//! may start at once: each generates into a folder of its own and renames it into place;
//! the first rename wins and everyone reads the winner's files.

use std::path::Path;

use anyhow::Context;
use openssl::{
    asn1::Asn1Time,
    bn::{BigNum, MsbOption},
    hash::MessageDigest,
    pkey::{PKey, Private},
    rsa::Rsa,
    x509::{X509, X509NameBuilder},
};

/// The key that signs registry tokens, and the certificate the registry trusts.
#[derive(Clone)]
pub struct RegistryKeys {
    pub key: PKey<Private>,
    pub certificate: X509,
}

impl std::fmt::Debug for RegistryKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegistryKeys([REDACTED])")
    }
}

impl RegistryKeys {
    /// The certificate in PEM, for the registry's `rootcertbundle`.
    pub fn certificate_pem(&self) -> anyhow::Result<String> {
        Ok(String::from_utf8(self.certificate.to_pem()?)?)
    }

    /// The certificate in DER, for the token header's `x5c`.
    pub fn certificate_der(&self) -> anyhow::Result<Vec<u8>> {
        Ok(self.certificate.to_der()?)
    }
}

/// Loads the keys from `<data dir>/registry/`, generating them on first use.
pub fn load_or_generate(data_dir: &Path, issuer: &str) -> anyhow::Result<RegistryKeys> {
    let dir = data_dir.join("registry");
    if !dir.join("cert.pem").exists() {
        let staging = data_dir.join(format!(".registry-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).context("creating the registry key folder")?;
        generate(&staging, issuer)?;
        if std::fs::rename(&staging, &dir).is_err() {
            // Another process won the race; use its keys.
            let _ = std::fs::remove_dir_all(&staging);
        }
    }
    read(&dir)
}

fn read(dir: &Path) -> anyhow::Result<RegistryKeys> {
    let key = std::fs::read(dir.join("key.pem")).context("reading the registry key")?;
    let certificate =
        std::fs::read(dir.join("cert.pem")).context("reading the registry certificate")?;
    Ok(RegistryKeys {
        key: PKey::private_key_from_pem(&key)?,
        certificate: X509::from_pem(&certificate)?,
    })
}

fn generate(dir: &Path, issuer: &str) -> anyhow::Result<()> {
    let key = PKey::from_rsa(Rsa::generate(2048)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", issuer)?;
    let name = name.build();
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::MAYBE_ZERO, false)?;
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(&key)?;
    builder.set_not_before(&*Asn1Time::days_from_now(0)?)?;
    builder.set_not_after(&*Asn1Time::days_from_now(3650)?)?;
    builder.sign(&key, MessageDigest::sha256())?;
    let certificate = builder.build();
    write_private(&dir.join("key.pem"), &key.private_key_to_pem_pkcs8()?)?;
    std::fs::write(dir.join("cert.pem"), certificate.to_pem()?)?;
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)?;
    Ok(())
}
