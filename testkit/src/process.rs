use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// A workspace binary running as a child process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    /// Where its /healthz, /readyz and /metrics answer.
    pub admin: SocketAddr,
}

impl ServerProcess {
    /// Starts `target/<profile>/<binary>` (built first: see [`binary_path`]) with `env` and
    /// waits until `addr` and `admin` accept connections (a server binds them one after the
    /// other); the exit status if it exits before that.
    pub fn start(
        binary: &str,
        addr: SocketAddr,
        admin: SocketAddr,
        env: &[(&str, String)],
    ) -> Result<Self, ExitStatus> {
        let path = binary_path(binary);
        let mut command = Command::new(&path);
        command
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", path.display()));
        let mut process = Self { child, addr, admin };
        process.wait_until_listening()?;
        Ok(process)
    }

    fn wait_until_listening(&mut self) -> Result<(), ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let listening = |addr| TcpStream::connect(addr).is_ok();
        while !(listening(self.addr) && listening(self.admin)) {
            if let Some(status) = self.child.try_wait().expect("poll child") {
                return Err(status);
            }
            assert!(
                Instant::now() < deadline,
                "server on {} (admin {}) never listened",
                self.addr,
                self.admin
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
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
    pub fn terminate(mut self) -> bool {
        self.signal("TERM");
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
