//! The TLS client settings of `https` checks: Mozilla's root certificates
//! (the `webpki-roots` bundle, the same on every machine) or the CA
//! certificates of a PEM file, or no verification at all when a check says
//! so. Built once per distinct setting, with the `ring` provider.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::HealthError;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration: roots from `ca_file` (else Mozilla's), or none
/// checked when `verify` is false.
pub(crate) fn client_config(
    verify: bool,
    ca_file: Option<&Path>,
) -> Result<Arc<ClientConfig>, HealthError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| HealthError::Tls {
            message: e.to_string(),
        })?;
    let mut config = if verify {
        let mut roots = RootCertStore::empty();
        match ca_file {
            Some(path) => {
                let certificates = read_certificates(path)?;
                let (added, _ignored) = roots.add_parsable_certificates(certificates);
                if added == 0 {
                    return Err(HealthError::CaFile {
                        path: path.to_path_buf(),
                        reason: "no usable CA certificate in the file".into(),
                    });
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth()
    };
    // A check is one request on a fresh connection: no HTTP/2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, HealthError> {
    let error = |reason: String| HealthError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let iter = CertificateDer::pem_file_iter(path).map_err(|e| error(e.to_string()))?;
    iter.collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(e.to_string()))
}

/// Accepts any certificate (a check with `verify_certificate = false`),
/// but still checks the handshake signatures with the provider's
/// algorithms.
struct NoVerification(Arc<CryptoProvider>);

impl fmt::Debug for NoVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NoVerification")
    }
}

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
