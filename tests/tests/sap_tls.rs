//! TLS to the Service Layer is always verified: a private CA bundle makes a private certificate
//! trusted, and nothing else does. (There is deliberately no switch that turns verification off.)

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use sandbox::{SapOptions, SapSandbox, TlsIdentity};
use secrecy::SecretString;
use shared::error::Error;
use shared::sap::SapClient;

/// A private CA and a `localhost` server certificate it signed.
struct PrivatePki {
    ca_pem: String,
    server: TlsIdentity,
}

fn private_pki(ca_name: &str) -> PrivatePki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, ca_name);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let mut leaf_params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf_params.distinguished_name.push(DnType::CommonName, "localhost");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    PrivatePki {
        ca_pem: ca.pem(),
        server: TlsIdentity { cert_chain_pem: leaf.pem(), private_key_pem: leaf_key.serialize_pem() },
    }
}

async fn https_sandbox(pki: &PrivatePki) -> SapSandbox {
    let sap = SapSandbox::start(SapOptions { tls: Some(pki.server.clone()), ..SapOptions::default() }).await.unwrap();
    assert!(sap.base_url().starts_with("https://localhost:"));
    sap
}

fn client(sap: &SapSandbox, ca_bundle_pem: Option<Vec<u8>>) -> shared::error::Result<SapClient> {
    SapClient::new(shared::config::SapConfig {
        base_url: sap.base_url(),
        company_db: sap.company_db().into(),
        user: sap.user().into(),
        password: SecretString::from(sap.password()),
        ca_bundle_pem,
        order_reference_udf: None,
        page_size: 20,
        timeout_secs: 10,
    })
}

#[tokio::test]
async fn a_client_trusting_the_private_ca_logs_in_and_reads() {
    let pki = private_pki("B1Force Test Root CA");
    let sap = https_sandbox(&pki).await;
    let client = client(&sap, Some(pki.ca_pem.clone().into_bytes())).unwrap();
    let item = client.get("Items('A00001')").await.unwrap();
    assert_eq!(item["ItemName"], "Industrial Pump S");
    assert_eq!(sap.calls().snapshot()["POST /Login"], 1);
}

#[tokio::test]
async fn a_client_without_the_bundle_refuses_the_private_certificate() {
    let pki = private_pki("B1Force Test Root CA");
    let sap = https_sandbox(&pki).await;
    let err = client(&sap, None).unwrap().get("Items('A00001')").await.unwrap_err();
    assert!(matches!(err, Error::Transport { system: "sap", .. }), "{err}");
    assert!(sap.calls().snapshot().is_empty(), "no request got past the handshake");
}

#[tokio::test]
async fn a_client_trusting_another_ca_refuses_the_certificate() {
    let pki = private_pki("B1Force Test Root CA");
    let other = private_pki("Some Other Root CA");
    let sap = https_sandbox(&pki).await;
    let err = client(&sap, Some(other.ca_pem.into_bytes())).unwrap().get("Items('A00001')").await.unwrap_err();
    assert!(matches!(err, Error::Transport { system: "sap", .. }), "{err}");
    assert!(err.is_retryable());
    assert!(sap.calls().snapshot().is_empty());
}

#[tokio::test]
async fn a_bundle_without_certificates_is_a_configuration_error_not_an_open_door() {
    let pki = private_pki("B1Force Test Root CA");
    let sap = https_sandbox(&pki).await;
    for garbage in [b"not a certificate".to_vec(), Vec::new()] {
        let err = client(&sap, Some(garbage)).err().expect("an unusable bundle is rejected");
        assert!(matches!(err, Error::Config(_)), "{err}");
    }
}
