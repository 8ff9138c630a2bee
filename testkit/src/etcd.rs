use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// A private etcd on loopback ports with data dirs of its own: one member, or a cluster of
/// several whose members a test may stop and start again. Killed and removed when dropped.
pub struct Etcd {
    members: Vec<Member>,
}

struct Member {
    name: String,
    child: Option<Child>,
    client_port: u16,
    peer_port: u16,
    data_dir: PathBuf,
}

impl Etcd {
    /// Starts a one-member etcd on free ports (fresh ones when another process took those first).
    pub fn start() -> Self {
        Self::start_cluster(1)
    }

    /// Starts a cluster of `size` members on free ports; returns once each listens (quorum
    /// follows within a moment: clients connect lazily and retry).
    pub fn start_cluster(size: usize) -> Self {
        let mut tries = 0;
        loop {
            let mut etcd = Self {
                members: (0..size).map(Member::on_free_ports).collect(),
            };
            (0..size).for_each(|i| etcd.spawn(i, false));
            match (0..size).try_for_each(|i| etcd.wait_listening(i)) {
                Ok(()) => return etcd,
                Err(status) if tries < 2 => {
                    tries += 1;
                    eprintln!("etcd exited at start ({status}); trying other ports");
                }
                Err(status) => panic!("etcd exited at start: {status}"),
            }
        }
    }

    /// The endpoints clients connect to, comma-separated (`ETCD_ENDPOINTS`).
    pub fn endpoint(&self) -> String {
        let urls: Vec<String> = self.members.iter().map(Member::client_url).collect();
        urls.join(",")
    }

    /// Kills every member at once, as a crash or a partition would look to its clients.
    pub fn stop(&mut self) {
        (0..self.members.len()).for_each(|i| self.stop_member(i));
    }

    /// Starts a one-member etcd again on the same ports; `wipe` loses every key and lease first.
    pub fn start_again(&mut self, wipe: bool) {
        assert_eq!(
            self.members.len(),
            1,
            "start_again is for a one-member etcd"
        );
        self.spawn(0, wipe);
        if let Err(status) = self.wait_listening(0) {
            panic!("etcd exited at start: {status}");
        }
    }

    /// Kills member `i` (SIGKILL); its data stays.
    pub fn stop_member(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again with its data: it rejoins its cluster.
    pub fn start_member_again(&mut self, i: usize) {
        self.spawn(i, false);
        if let Err(status) = self.wait_listening(i) {
            panic!("etcd member {i} exited at start: {status}");
        }
    }

    fn spawn(&mut self, i: usize, wipe: bool) {
        self.stop_member(i);
        let cluster: Vec<String> = (self.members.iter())
            .map(|m| format!("{}={}", m.name, m.peer_url()))
            .collect();
        let token = format!("im-test-{}", self.members[0].client_port);
        let member = &mut self.members[i];
        if wipe {
            let _ = std::fs::remove_dir_all(&member.data_dir);
        }
        let child = Command::new("etcd")
            .args(["--name", &member.name, "--data-dir"])
            .arg(&member.data_dir)
            .args(["--listen-client-urls", &member.client_url()])
            .args(["--advertise-client-urls", &member.client_url()])
            .args(["--listen-peer-urls", &member.peer_url()])
            .args(["--initial-advertise-peer-urls", &member.peer_url()])
            .args(["--initial-cluster", &cluster.join(",")])
            .args(["--initial-cluster-token", &token])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd (Debian: etcd-server) is installed");
        member.child = Some(child);
    }

    fn wait_listening(&mut self, i: usize) -> Result<(), ExitStatus> {
        let member = &mut self.members[i];
        let addr = SocketAddr::from(([127, 0, 0, 1], member.client_port));
        let deadline = Instant::now() + Duration::from_secs(30);
        let child = member.child.as_mut().expect("started");
        while TcpStream::connect(addr).is_err() {
            if let Some(status) = child.try_wait().expect("poll etcd") {
                member.child = None;
                return Err(status);
            }
            assert!(Instant::now() < deadline, "etcd never listened on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Member {
    fn on_free_ports(i: usize) -> Self {
        let client_port = free_port();
        Self {
            name: format!("im-test-{i}"),
            child: None,
            client_port,
            peer_port: free_port(),
            data_dir: std::env::temp_dir()
                .join(format!("im-test-etcd-{}-{client_port}", std::process::id())),
        }
    }

    fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.stop();
        for member in &self.members {
            let _ = std::fs::remove_dir_all(&member.data_dir);
        }
    }
}
