//! The client over TLS (`https://`, `wss://`) against the official
//! socket.io server on Node's `https`, with a certificate authority made
//! for the test and trusted through `tls_config`.

mod common;

use std::path::Path;
use std::sync::Arc;

use sio_client::rustls;
use sio_client::{ClientBuilder, Transport};
use tokio::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        ok.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn make_certs(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=sio test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
        ],
    );
}

fn trusting(ca: &Path) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_wss_with_a_trusted_ca() {
    let dir = std::env::temp_dir().join(format!("sio-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    make_certs(&dir);
    let port = sio_testkit::free_port();
    let _server = sio_testkit::spawn_ready(
        Command::new("node")
            .arg(sio_testkit::root().join("tests/interop/lib/tls-server.mjs"))
            .args(["--port", &port.to_string()])
            .arg("--key")
            .arg(dir.join("key.pem"))
            .arg("--cert")
            .arg(dir.join("cert.pem")),
    )
    .await;

    let url = format!("https://127.0.0.1:{port}");
    for transports in [
        vec![Transport::WebSocket],
        vec![Transport::Polling],
        vec![Transport::Polling, Transport::WebSocket],
    ] {
        let (tx, rx) = tokio::sync::oneshot::channel::<bool>();
        let tx = std::sync::Mutex::new(Some(tx));
        let socket = ClientBuilder::new(&url)
            .transports(transports.clone())
            .tls_config(trusting(&dir.join("ca.pem")))
            .on("secure", move |ev| {
                let secure: (bool,) = ev.args().unwrap();
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(secure.0);
                }
                async {}
            })
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{transports:?}: {e}"));
        assert!(
            rx.await.unwrap(),
            "{transports:?}: the server sees a secure connection"
        );
        let (echo,): (String,) = socket
            .emit_with_ack("message-with-ack", &("over tls",))
            .await
            .unwrap();
        assert_eq!(echo, "over tls");
        socket.disconnect();
    }

    // Without trusting the CA, the connection is refused.
    let err = ClientBuilder::new(&url)
        .transports([Transport::WebSocket])
        .reconnection(false)
        .connect()
        .await
        .unwrap_err();
    assert!(err.message.contains("websocket error"), "{}", err.message);
    let _ = std::fs::remove_dir_all(&dir);
}
