use std::collections::BTreeSet;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use command_fds::{CommandFdExt, FdMapping};

/// A loopback port nothing is bound to right now, for a program that must be told its port.
/// It is taken below the kernel's ephemeral range, at random, so that no outgoing connection
/// can take it before the program binds it. This process never hands out the same port twice
/// (a cluster asks for a dozen before any is bound, and a killed node's state-transfer daemon
/// may outlive it); another test process may still pick the same one, and the starters here
/// try again on fresh ports when a program exits at start.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let ephemeral_from = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let low = 10_000.min(ephemeral_from / 2);
    loop {
        let random = RandomState::new().build_hasher().finish();
        let port = low + (random % u64::from(ephemeral_from - low)) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok()
            && HANDED_OUT.lock().expect("port set").insert(port)
        {
            return port;
        }
    }
}

/// A workspace binary running as a child process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    /// Where its /healthz, /readyz and /metrics answer.
    pub admin: SocketAddr,
}

/// Where a server answers /healthz, /readyz and /metrics.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AdminSocket {
    /// A listener of its own (the rpc-server).
    Own,
    /// The API's listener (the http-server).
    Api,
}

impl ServerProcess {
    /// Starts `target/<profile>/<binary>` (built first: see [`binary_path`]) on listeners bound
    /// here to free loopback ports and handed over as `LISTEN_FDS`, so that no other process can
    /// take its ports first; `settings` gives its environment from the API and admin addresses.
    /// Returns once it answers /healthz.
    pub fn start(binary: &str, admin: AdminSocket, settings: &[(&str, String)]) -> Self {
        Self::start_at(
            binary,
            admin,
            settings,
            "127.0.0.1:0".parse().expect("an address"),
        )
    }

    /// As [`ServerProcess::start`], its API on `addr`: a port another process just left, for
    /// a server replaced in place.
    pub fn start_at(
        binary: &str,
        admin: AdminSocket,
        settings: &[(&str, String)],
        addr: SocketAddr,
    ) -> Self {
        let bind = || TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let api = TcpListener::bind(addr).unwrap_or_else(|err| panic!("bind {addr}: {err}"));
        let mut listeners = vec![api];
        if admin == AdminSocket::Own {
            listeners.push(bind());
        }
        let addresses: Vec<SocketAddr> = listeners
            .iter()
            .map(|l| l.local_addr().expect("a bound address"))
            .collect();
        let (addr, admin) = (addresses[0], *addresses.last().unwrap());
        let path = binary_path(binary);
        let mut command = Command::new(&path);
        command
            .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
            .env("LISTEN_FDS", listeners.len().to_string())
            .env_remove("LISTEN_PID")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        let mappings = listeners
            .into_iter()
            .zip(3..)
            .map(|(listener, child_fd)| FdMapping {
                parent_fd: listener.into(),
                child_fd,
            })
            .collect();
        command.fd_mappings(mappings).expect("distinct descriptors");
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", path.display()));
        // The listeners now live in the child alone: once it dies, connecting is refused.
        drop(command);
        let mut process = Self { child, addr, admin };
        process.wait_until_healthy(binary);
        process
    }

    fn wait_until_healthy(&mut self, binary: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !answers_healthz(self.admin) {
            if let Some(status) = self.child.try_wait().expect("poll child") {
                panic!("{binary} on {} exited at start: {status}", self.addr);
            }
            assert!(
                Instant::now() < deadline,
                "{binary} on {} (admin {}) never became healthy",
                self.addr,
                self.admin
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the process (SIGSTOP): its sockets stay open and nothing answers, as when its host
    /// freezes.
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    /// Lets a frozen process run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status();
    }

    /// Sends SIGTERM and waits for the exit; returns whether it exited successfully.
    pub fn terminate(self) -> bool {
        self.stop();
        self.wait()
    }

    /// Sends SIGTERM and returns at once.
    pub fn stop(&self) {
        self.signal("TERM");
    }

    /// Whether the process has exited successfully; `None` while it runs.
    pub fn exited(&mut self) -> Option<bool> {
        self.child.try_wait().ok().flatten().map(|s| s.success())
    }

    /// Waits for the exit; returns whether it exited successfully.
    pub fn wait(mut self) -> bool {
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A workspace binary as the source beside the test is now. The first call in a test process
/// runs `cargo build --workspace --bins` (what `scripts/test` runs, so there a no-op) with the
/// test's own profile and target directory: a test never runs a server binary older than the
/// code it tests, whichever way the tests were started.
pub fn binary_path(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build_binaries).join(name)
}

/// Builds the binaries; returns `target/<profile>`. Test executables live in
/// `target/<profile>/deps/`.
fn build_binaries() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_owned();
    let target_dir = profile_dir.parent().expect("target/<profile>");
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev",
        Some(name) => name,
        None => panic!("no profile in {}", profile_dir.display()),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds testkit/");
    let built = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "build",
            "--workspace",
            "--bins",
            "--quiet",
            "--profile",
            profile,
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .status()
        .expect("run cargo");
    assert!(built.success(), "cargo could not build the servers");
    profile_dir
}

/// Whether `GET /healthz` on `admin` is answered 200. (Connecting proves nothing: a handed-over
/// listener accepts connections before its server runs.)
fn answers_healthz(admin: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(admin) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let mut status_line = [0u8; 12];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut status_line).is_ok()
        && status_line.ends_with(b" 200")
}
