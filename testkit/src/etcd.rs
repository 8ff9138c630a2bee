use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// A private etcd on loopback ports with a data dir of its own, which a test may stop and
/// start again. Killed and removed when dropped.
pub struct Etcd {
    child: Option<Child>,
    client_port: u16,
    peer_port: u16,
    data_dir: PathBuf,
}

impl Etcd {
    /// Starts etcd on free ports (fresh ones when another process took those first).
    pub fn start() -> Self {
        let mut tries = 0;
        loop {
            let client_port = free_port();
            let data_dir = std::env::temp_dir()
                .join(format!("im-test-etcd-{}-{client_port}", std::process::id()));
            let mut etcd = Self {
                child: None,
                client_port,
                peer_port: free_port(),
                data_dir,
            };
            match etcd.try_start(false) {
                Ok(()) => return etcd,
                Err(status) if tries < 2 => {
                    tries += 1;
                    eprintln!(
                        "etcd on {client_port} exited at start ({status}); trying other ports"
                    );
                }
                Err(status) => panic!("etcd on {client_port} exited at start: {status}"),
            }
        }
    }

    /// The endpoint clients connect to.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// Kills etcd at once, as a crash or a partition would look to its clients.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts etcd again on the same ports; `wipe` loses every key and lease first.
    pub fn start_again(&mut self, wipe: bool) {
        if let Err(status) = self.try_start(wipe) {
            panic!("etcd on {} exited at start: {status}", self.client_port);
        }
    }

    fn try_start(&mut self, wipe: bool) -> Result<(), ExitStatus> {
        self.stop();
        if wipe {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
        let name = "im-test";
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let mut child = Command::new("etcd")
            .args(["--name", name, "--data-dir"])
            .arg(&self.data_dir)
            .args(["--listen-client-urls", &self.endpoint()])
            .args(["--advertise-client-urls", &self.endpoint()])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("{name}={peer}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd (Debian: etcd-server) is installed");
        let addr = SocketAddr::from(([127, 0, 0, 1], self.client_port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() {
            if let Some(status) = child.try_wait().expect("poll etcd") {
                return Err(status);
            }
            assert!(Instant::now() < deadline, "etcd never listened on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
        Ok(())
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
